import React, { useId, useRef, useState } from 'react';

/**
 * WAI-ARIA tabs. Only the active tab is in the Tab order; arrow keys,
 * Home and End move between tabs (the "roving tabindex" pattern).
 *
 * <Tabs items={[{ label: 'Overview', content: <Overview /> }, ...]} />
 */
export function Tabs({ items, defaultIndex = 0, onChange }) {
  const [active, setActive] = useState(defaultIndex);
  const tabRefs = useRef([]);
  const baseId = useId();

  const select = (index) => {
    setActive(index);
    tabRefs.current[index]?.focus();
    onChange?.(index);
  };

  const onKeyDown = (event) => {
    const last = items.length - 1;
    const moves = {
      ArrowRight: active === last ? 0 : active + 1,
      ArrowLeft: active === 0 ? last : active - 1,
      Home: 0,
      End: last,
    };
    if (event.key in moves) {
      event.preventDefault();
      select(moves[event.key]);
    }
  };

  return (
    <div className="tabs">
      <div role="tablist" aria-orientation="horizontal" onKeyDown={onKeyDown}>
        {items.map((item, i) => (
          <button
            key={item.label}
            ref={(el) => {
              tabRefs.current[i] = el;
            }}
            role="tab"
            type="button"
            id={`${baseId}-tab-${i}`}
            aria-selected={i === active}
            aria-controls={`${baseId}-panel-${i}`}
            tabIndex={i === active ? 0 : -1}
            onClick={() => select(i)}
          >
            {item.label}
          </button>
        ))}
      </div>
      {items.map((item, i) => (
        <div
          key={item.label}
          role="tabpanel"
          id={`${baseId}-panel-${i}`}
          aria-labelledby={`${baseId}-tab-${i}`}
          hidden={i !== active}
          tabIndex={0}
        >
          {/* Inactive panels stay mounted so their local state survives switching. */}
          {item.content}
        </div>
      ))}
    </div>
  );
}
