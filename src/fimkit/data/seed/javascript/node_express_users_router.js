const express = require('express');

/**
 * Build a middleware that checks req.body against a tiny schema:
 * { field: { type: 'string' | 'number', required?: boolean, min?: number, max?: number } }
 * min/max apply to string length or numeric value.
 */
function validateBody(schema) {
  return (req, res, next) => {
    const body = req.body ?? {};
    const errors = [];

    for (const [field, rule] of Object.entries(schema)) {
      const value = body[field];
      if (value === undefined || value === null || value === '') {
        if (rule.required) errors.push({ field, message: 'is required' });
        continue;
      }
      if (typeof value !== rule.type) {
        errors.push({ field, message: `must be a ${rule.type}` });
        continue;
      }
      const measure = rule.type === 'string' ? value.length : value;
      if (rule.min !== undefined && measure < rule.min) {
        errors.push({ field, message: `must be at least ${rule.min}` });
      }
      if (rule.max !== undefined && measure > rule.max) {
        errors.push({ field, message: `must be at most ${rule.max}` });
      }
    }

    if (errors.length > 0) return res.status(422).json({ errors });
    next();
  };
}

const userSchema = {
  name: { type: 'string', required: true, min: 2, max: 80 },
  email: { type: 'string', required: true, min: 5 },
  age: { type: 'number', min: 13, max: 130 },
};

function createUsersRouter(store = new Map()) {
  const router = express.Router();
  let nextId = 1;

  router.get('/', (_req, res) => {
    res.json([...store.values()]);
  });

  router.get('/:id', (req, res) => {
    const user = store.get(Number(req.params.id));
    if (!user) return res.status(404).json({ error: 'not found' });
    res.json(user);
  });

  router.post('/', express.json(), validateBody(userSchema), (req, res) => {
    const { name, email, age } = req.body;
    const user = { id: nextId++, name, email, age: age ?? null };
    store.set(user.id, user);
    res.status(201).location(`${req.baseUrl}/${user.id}`).json(user);
  });

  router.delete('/:id', (req, res) => {
    // 204 either way: deleting something already gone is not an error.
    store.delete(Number(req.params.id));
    res.status(204).end();
  });

  return router;
}

module.exports = { createUsersRouter, validateBody };
