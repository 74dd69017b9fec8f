-- The caseworker's answer to the allocation office on a vacant home (store::matching), as SQLite's
-- 0011_housing_answers.sql: one per vacant home's case, a citizen's case or a reason from a fixed
-- list; `delivery` the outbound message written in the same transaction.
CREATE TABLE housing_answers (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    home_case_id     BIGINT NOT NULL UNIQUE REFERENCES cases (id),
    message          BIGINT NOT NULL REFERENCES messages (id),
    offer_id         TEXT NOT NULL,
    answer           TEXT NOT NULL CHECK (answer IN ('candidate', 'none')),
    citizen_case_id  BIGINT REFERENCES cases (id),
    candidate_rank   BIGINT,
    reason           TEXT,
    answered_at      BIGINT NOT NULL,
    answered_by      TEXT NOT NULL,
    delivery         BIGINT REFERENCES deliveries (id),
    CHECK ((answer = 'candidate') = (citizen_case_id IS NOT NULL)),
    CHECK ((answer = 'none') = (reason IS NOT NULL))
);
CREATE INDEX housing_answers_by_citizen ON housing_answers (citizen_case_id);

-- The answer goes out as a delivery of the purpose `housing-answer`.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_purpose_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_purpose_check
    CHECK (purpose IN ('message', 'reminder', 'escalation', 'transfer', 'digest', 'housing-answer'));
