-- HR compensation analysis. Salaries are versioned: a new row is added on
-- every change, and the current salary is the one with the latest effective date.
CREATE TABLE salary_history (
    employee_id     INT NOT NULL REFERENCES employees (employee_id),
    effective_from  DATE NOT NULL,
    annual_salary   NUMERIC(12, 2) NOT NULL CHECK (annual_salary > 0),
    currency        CHAR(3) NOT NULL DEFAULT 'EUR',
    PRIMARY KEY (employee_id, effective_from)
);

-- Department pay summary using only each employee's current salary.
-- HAVING drops tiny departments where averages would identify individuals.
WITH current_salary AS (
    SELECT employee_id, annual_salary
    FROM (
        SELECT employee_id, annual_salary,
               row_number() OVER (PARTITION BY employee_id ORDER BY effective_from DESC) AS rn
        FROM salary_history
        WHERE effective_from <= CURRENT_DATE
    ) AS h
    WHERE rn = 1
)
SELECT
    d.department_name,
    count(*) AS head_count,
    round(avg(cs.annual_salary), 0) AS avg_salary,
    min(cs.annual_salary) AS min_salary,
    max(cs.annual_salary) AS max_salary,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY cs.annual_salary) AS median_salary
FROM current_salary AS cs
JOIN staff_assignments AS sa ON sa.employee_id = cs.employee_id AND sa.ended_on IS NULL
JOIN departments AS d ON d.department_id = sa.department_id
GROUP BY d.department_name
HAVING count(*) >= 5
ORDER BY avg_salary DESC;

-- Salary quartile of each employee within their job level. NTILE(4)
-- splits each partition into four groups of (nearly) equal size.
SELECT
    sa.job_level,
    sh.employee_id,
    sh.annual_salary,
    ntile(4) OVER (PARTITION BY sa.job_level ORDER BY sh.annual_salary) AS pay_quartile
FROM salary_history AS sh
JOIN staff_assignments AS sa ON sa.employee_id = sh.employee_id AND sa.ended_on IS NULL
WHERE NOT EXISTS (
    -- Anti-join keeps only the latest salary row per employee.
    SELECT 1 FROM salary_history AS newer
    WHERE newer.employee_id = sh.employee_id
      AND newer.effective_from > sh.effective_from
      AND newer.effective_from <= CURRENT_DATE
)
  AND sh.effective_from <= CURRENT_DATE
ORDER BY sa.job_level, pay_quartile, sh.annual_salary;
