-- A case's deadlines in a block of ids of their own instead of an index entry each (issue 18;
-- the measurements are in docs/benchmarks.md, "A case's deadlines in a block of ids").
--
-- `deadlines_by_case (case_id, policy, scope)` had an entry for every deadline, four per release
-- notice, about 3,100 instructions each. From this migration on, the writer numbers a case's
-- deadlines within a block of 2^20 ids that belongs to the case alone: case c's block starts at
-- 2^40 + c * 2^20 (src/store/sqlite/deadlines.rs, `block`). A case's deadlines are then one range
-- of the table's own key (its rows side by side in the table's B-tree), and no index is needed to
-- find them. Ids stay below 2^53, so that every JSON reader takes them exactly.
--
-- The deadlines written before keep their ids (they are in the audit log, in calendar entries'
-- UIDs and in links already sent), all below 2^40. They are found by their case through this
-- partial index, which has no entry for a deadline written from now on.
DROP INDEX deadlines_by_case;
CREATE INDEX deadlines_by_case_before_blocks ON deadlines (case_id, policy, scope) WHERE id < 1099511627776;
