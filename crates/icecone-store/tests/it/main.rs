//! The store's integration tests, run on SQLite and, with `ICECONE_TEST_DATABASE_URL`, on
//! PostgreSQL.

mod keys;
mod migrations;
