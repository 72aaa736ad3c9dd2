import { useState } from 'react';

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Pure validator: easy to unit-test and reuse on the server. */
export function validate({ email, password, confirm, terms }) {
  const errors = {};
  if (!email) errors.email = 'Email is required';
  else if (!EMAIL_RE.test(email)) errors.email = 'Enter a valid email address';
  if (password.length < 8) errors.password = 'Use at least 8 characters';
  else if (!/\d/.test(password)) errors.password = 'Include at least one number';
  if (confirm !== password) errors.confirm = 'Passwords do not match';
  if (!terms) errors.terms = 'You must accept the terms';
  return errors;
}

export default function SignupForm({ onSubmit }) {
  const [values, setValues] = useState({ email: '', password: '', confirm: '', terms: false });
  const [touched, setTouched] = useState({});
  const [submitting, setSubmitting] = useState(false);
  const errors = validate(values);

  const handleChange = ({ target }) => {
    const { name, type, value, checked } = target;
    setValues((v) => ({ ...v, [name]: type === 'checkbox' ? checked : value }));
  };
  // Only show an error once the user has left the field, not while typing.
  const handleBlur = (e) => setTouched((t) => ({ ...t, [e.target.name]: true }));

  const handleSubmit = async (e) => {
    e.preventDefault();
    setTouched({ email: true, password: true, confirm: true, terms: true });
    if (Object.keys(errors).length > 0) return;
    setSubmitting(true);
    try {
      await onSubmit?.({ email: values.email, password: values.password });
    } finally {
      setSubmitting(false);
    }
  };

  const field = (name, label, type = 'text') => (
    <label className="field">
      {label}
      <input name={name} type={type} value={values[name]} onChange={handleChange} onBlur={handleBlur}
        aria-invalid={Boolean(touched[name] && errors[name])} />
      {touched[name] && errors[name] && <span className="error">{errors[name]}</span>}
    </label>
  );

  return (
    <form onSubmit={handleSubmit} noValidate>
      {field('email', 'Email', 'email')}
      {field('password', 'Password', 'password')}
      {field('confirm', 'Confirm password', 'password')}
      <label>
        <input type="checkbox" name="terms" checked={values.terms} onChange={handleChange} onBlur={handleBlur} />
        I accept the terms of service
      </label>
      {touched.terms && errors.terms && <span className="error">{errors.terms}</span>}
      <button type="submit" disabled={submitting}>
        {submitting ? 'Creating account…' : 'Sign up'}
      </button>
    </form>
  );
}
