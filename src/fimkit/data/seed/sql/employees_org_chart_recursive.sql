-- HR org chart stored as an adjacency list: each employee points at a manager.
CREATE TABLE employees (
    employee_id  INT PRIMARY KEY,
    full_name    TEXT NOT NULL,
    job_title    TEXT NOT NULL,
    manager_id   INT REFERENCES employees (employee_id),
    hired_on     DATE NOT NULL,
    -- Nobody may manage themselves; deeper cycles are caught by the depth cap below.
    CONSTRAINT chk_not_own_manager CHECK (manager_id IS NULL OR manager_id <> employee_id)
);

CREATE INDEX idx_employees_manager ON employees (manager_id);

-- Walk the tree from the top down, carrying depth and a readable path.
-- The depth cap protects against accidental cycles in dirty data.
WITH RECURSIVE org AS (
    SELECT employee_id, full_name, manager_id, 0 AS depth,
           full_name::text AS reporting_path
    FROM employees
    WHERE manager_id IS NULL
    UNION ALL
    SELECT e.employee_id, e.full_name, e.manager_id, org.depth + 1,
           org.reporting_path || ' > ' || e.full_name
    FROM employees AS e
    JOIN org ON e.manager_id = org.employee_id
    WHERE org.depth < 20
)
SELECT employee_id, repeat('  ', depth) || full_name AS indented_name, depth, reporting_path
FROM org
ORDER BY reporting_path;

-- Head count under each manager, including indirect reports.
-- Every (ancestor, descendant) pair is generated, then grouped by ancestor.
WITH RECURSIVE chain AS (
    SELECT manager_id AS ancestor_id, employee_id AS descendant_id
    FROM employees
    WHERE manager_id IS NOT NULL
    UNION ALL
    SELECT e.manager_id, chain.descendant_id
    FROM chain
    JOIN employees AS e ON e.employee_id = chain.ancestor_id
    WHERE e.manager_id IS NOT NULL
)
SELECT m.employee_id, m.full_name, count(*) AS total_reports
FROM chain
JOIN employees AS m ON m.employee_id = chain.ancestor_id
GROUP BY m.employee_id, m.full_name
HAVING count(*) >= 5
ORDER BY total_reports DESC;
