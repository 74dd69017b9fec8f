-- The per-case index of open deliveries, with its predicate written as what an open delivery is
-- not (delivered, dead) rather than what it is (pending, retrying). The claim's check for an
-- earlier open delivery of the same case and destination (deliveries.rs) says "open" the same
-- way, so this is the only partial index of open deliveries that check can use: the others
-- (deliveries_due, deliveries_open_by_destination) keep `state IN ('pending', 'retrying')`, which
-- PostgreSQL cannot prove from `state <> 'delivered' AND state <> 'dead'`. Without statistics
-- (a table never analysed) the planner otherwise looks the earlier delivery up in
-- deliveries_open_by_destination, reading half a destination's queue per candidate. Queries that
-- say `state IN ('pending', 'retrying')` can still use this index: that implies its predicate.
DROP INDEX deliveries_open_by_case;
CREATE INDEX deliveries_open_by_case ON deliveries (case_id, destination, id)
    WHERE state <> 'delivered' AND state <> 'dead';
