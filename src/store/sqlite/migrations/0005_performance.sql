-- Fewer index entries per filed message.
--
-- deadlines_by_due served only the reports' deadline rows (Store::deadline_rows, a period's
-- deadlines by due time): the caseworkers' listing reads a municipality's deadlines through
-- cases and deadlines_by_case and sorts them, and the scheduler reads deadlines_alerts. Every
-- deadline paid an entry in it, four per release notice, and at low rates a WAL page per
-- commit. The report now scans the table, in id order as it wants them, without a sort.
DROP INDEX deadlines_by_due;
