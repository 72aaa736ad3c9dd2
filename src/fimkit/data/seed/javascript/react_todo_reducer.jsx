import { useReducer, useState } from 'react';

let seq = 0;
const makeId = () => `todo-${Date.now().toString(36)}-${seq++}`;

/** Reducer kept outside the component so it can be tested in isolation. */
export function todoReducer(state, action) {
  switch (action.type) {
    case 'added':
      return [...state, { id: action.id, text: action.text, done: false }];
    case 'toggled':
      return state.map((t) => (t.id === action.id ? { ...t, done: !t.done } : t));
    case 'edited':
      return state.map((t) => (t.id === action.id ? { ...t, text: action.text } : t));
    case 'removed':
      return state.filter((t) => t.id !== action.id);
    case 'clearedCompleted':
      return state.filter((t) => !t.done);
    default:
      throw new Error(`Unknown action: ${action.type}`);
  }
}

const FILTERS = {
  all: () => true,
  active: (t) => !t.done,
  done: (t) => t.done,
};

export default function TodoList({ initialTodos = [] }) {
  const [todos, dispatch] = useReducer(todoReducer, initialTodos);
  const [draft, setDraft] = useState('');
  const [filter, setFilter] = useState('all');

  const submit = (e) => {
    e.preventDefault();
    const text = draft.trim();
    if (!text) return;
    // The id is created here, not in the reducer, to keep the reducer pure.
    dispatch({ type: 'added', id: makeId(), text });
    setDraft('');
  };

  const remaining = todos.filter(FILTERS.active).length;

  return (
    <section className="todos">
      <form onSubmit={submit}>
        <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="What needs doing?" />
        <button type="submit">Add</button>
      </form>
      <ul>
        {todos.filter(FILTERS[filter]).map((todo) => (
          <li key={todo.id} className={todo.done ? 'done' : undefined}>
            <input type="checkbox" checked={todo.done} onChange={() => dispatch({ type: 'toggled', id: todo.id })} />
            <input
              value={todo.text}
              aria-label="Edit task"
              onChange={(e) => dispatch({ type: 'edited', id: todo.id, text: e.target.value })}
            />
            <button onClick={() => dispatch({ type: 'removed', id: todo.id })} aria-label={`Delete ${todo.text}`}>
              🗑
            </button>
          </li>
        ))}
      </ul>
      <footer>
        <span>{remaining} item{remaining === 1 ? '' : 's'} left</span>
        {Object.keys(FILTERS).map((name) => (
          <button key={name} aria-pressed={filter === name} onClick={() => setFilter(name)}>
            {name}
          </button>
        ))}
        <button onClick={() => dispatch({ type: 'clearedCompleted' })} disabled={remaining === todos.length}>
          Clear completed
        </button>
      </footer>
    </section>
  );
}
