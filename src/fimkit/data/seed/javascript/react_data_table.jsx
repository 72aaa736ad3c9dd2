import React, { useMemo, useState } from 'react';

const compare = (a, b) => {
  if (a == null) return 1; // empty cells always sink to the bottom
  if (b == null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
};

/**
 * Client-side table with sortable headers and pagination.
 * @param {{ columns: { key: string, label: string, render?: (row) => React.ReactNode }[],
 *           rows: object[], pageSize?: number, rowKey?: string }} props
 */
export function DataTable({ columns, rows, pageSize = 10, rowKey = 'id' }) {
  const [sort, setSort] = useState({ key: null, dir: 'asc' });
  const [page, setPage] = useState(0);

  const sorted = useMemo(() => {
    if (!sort.key) return rows;
    const copy = [...rows]; // never sort the caller's array in place
    copy.sort((r1, r2) => compare(r1[sort.key], r2[sort.key]));
    return sort.dir === 'asc' ? copy : copy.reverse();
  }, [rows, sort]);

  const pageCount = Math.max(1, Math.ceil(sorted.length / pageSize));
  const current = Math.min(page, pageCount - 1);
  const visible = sorted.slice(current * pageSize, (current + 1) * pageSize);

  const toggleSort = (key) => {
    setSort((prev) => ({ key, dir: prev.key === key && prev.dir === 'asc' ? 'desc' : 'asc' }));
    setPage(0);
  };

  return (
    <div>
      <table>
        <thead>
          <tr>
            {columns.map(({ key, label }) => (
              <th
                key={key}
                aria-sort={sort.key === key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
              >
                <button type="button" onClick={() => toggleSort(key)}>
                  {label} {sort.key === key ? (sort.dir === 'asc' ? '▲' : '▼') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {visible.map((row) => (
            <tr key={row[rowKey]}>
              {columns.map((col) => (
                <td key={col.key}>{col.render ? col.render(row) : row[col.key]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <nav aria-label="Pagination">
        <button type="button" disabled={current === 0} onClick={() => setPage(current - 1)}>
          Previous
        </button>
        <span>
          Page {current + 1} of {pageCount}
        </span>
        <button type="button" disabled={current >= pageCount - 1} onClick={() => setPage(current + 1)}>
          Next
        </button>
      </nav>
    </div>
  );
}
