-- One alarm per case instead of an index entry per deadline (issue 18; the measurements are in
-- docs/benchmarks.md, "The deadline rows' parts" and "One alarm per case").
--
-- The partial index `deadlines_alerts (next_alert_at) WHERE next_alert_at IS NOT NULL` had an
-- entry for every deadline with an alert ahead: four per release notice, about 3,800 instructions
-- each (15,320 of the writer's ~203,000 per message), with keys spread over the coming months, so
-- that each entry dirtied a page of its own somewhere in the index (a WAL frame). Its only users
-- were the scheduler's tick and the digest's query.
--
-- `alarms` holds, for a case, a time at which some deadline of the case may have an alert due. The
-- invariant (src/store/sqlite/deadlines.rs): every deadline whose `next_alert_at` is t has an alarm
-- of its case at some time <= t. Alarms may be early (stale: the deadline was met, moved later,
-- or its alert already sent) but never late. A message writes one alarm for all the deadlines it
-- sets on its case (a release notice's four), at the earliest of their alerts; the tick takes the
-- due alarms, looks at their cases' deadlines (through `deadlines_by_case`), fires what is due and
-- sets one alarm at the case's next alert. `deadlines.next_alert_at` stays the truth.
CREATE TABLE alarms (
    at      INTEGER NOT NULL,               -- at or before the earliest next alert of some deadlines of the case
    case_id INTEGER NOT NULL,               -- cases (id); not checked by SQLite (as in 0014)
    PRIMARY KEY (at, case_id)
) WITHOUT ROWID;
INSERT INTO alarms (at, case_id)
SELECT MIN(next_alert_at), case_id FROM deadlines WHERE next_alert_at IS NOT NULL GROUP BY case_id;
DROP INDEX deadlines_alerts;
