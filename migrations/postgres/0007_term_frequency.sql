-- How often each family name and street occurs among the source records of an entity: scored
-- matching weighs an agreement on a rare value more than on a common one (term-frequency
-- adjustment). `term` is `family_name` or `street`; values are folded as the comparators fold them.
CREATE TABLE term_frequency (
    entity TEXT COLLATE "C" NOT NULL,
    term   TEXT COLLATE "C" NOT NULL,
    value  TEXT COLLATE "C" NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (entity, term, value)
);
