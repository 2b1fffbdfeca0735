import { defineConfig } from 'drizzle-kit';

// Migrations are generated from the schema and committed; the gateway applies them at start.
export default defineConfig({
  dialect: 'postgresql',
  schema: './gateway/db/schema.ts',
  out: './gateway/db/migrations',
  strict: true,
  verbose: true,
});
