-- How often each family name and street occurs among the source records of an entity: scored
-- matching weighs an agreement on a rare value more than on a common one (term-frequency
-- adjustment). `term` is `family_name` or `street`; values are folded as the comparators fold them.
CREATE TABLE term_frequency (
    entity TEXT NOT NULL,
    term   TEXT NOT NULL,
    value  TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (entity, term, value)
) WITHOUT ROWID;
