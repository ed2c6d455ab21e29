//! UPDATE statements prepared once per connection and reused, for the writes every message
//! makes.
//!
//! diesel prepares most statements once and keeps them, but never an UPDATE: an optional
//! changeset changes the SQL with the values, so its `UpdateStatement` marks itself unsafe to
//! cache. The conversation's update and the broadcasts' reply mark were therefore parsed
//! (SQLite) or parsed and planned (PostgreSQL) again for every message: on SQLite, over a
//! third of the writer thread's time under load. [`Update`] writes the same SQL without that
//! mark. The statement cache keys such a statement by its SQL text and bind types, so a
//! different set of columns is a different entry and a reused statement is always the right
//! one; the entries stay few (one per combination of columns a change actually writes). No
//! `IN` list may be in its filter: a list of binds marks itself unsafe as it should.

use diesel::{
    associations::HasTable,
    backend::Backend,
    query_builder::{AsChangeset, AstPass, QueryFragment, QueryId},
    result::Error,
    QueryResult, RunQueryDsl, Table,
};

/// `UPDATE <table> SET <changes> WHERE <filter>`, reused from the connection's cache.
#[derive(Debug, Clone)]
pub struct Update<F, V, W> {
    /// The table as it is written in SQL.
    from: F,
    values: V,
    filter: W,
}

/// `update(table, changes, filter)`: the changes of any `AsChangeset` (a struct of optional
/// columns, or a tuple of `column.eq(value)`).
pub fn update<T, C, W>(table: T, changes: C, filter: W) -> Update<T::FromClause, C::Changeset, W>
where
    T: Table + HasTable<Table = T>,
    C: AsChangeset<Target = T>,
{
    Update {
        from: table.from_clause(),
        values: changes.as_changeset(),
        filter,
    }
}

impl<F, V, W, DB> QueryFragment<DB> for Update<F, V, W>
where
    DB: Backend,
    F: QueryFragment<DB>,
    V: QueryFragment<DB>,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.values.is_noop(out.backend())? {
            return Err(Error::QueryBuilderError(
                "an UPDATE with nothing to set".into(),
            ));
        }
        out.push_sql("UPDATE ");
        self.from.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.values.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())?;
        Ok(())
    }
}

impl<F, V, W> QueryId for Update<F, V, W> {
    type QueryId = ();
    /// No static id: the cache keys the statement by its SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<F, V, W, Conn> RunQueryDsl<Conn> for Update<F, V, W> {}

/// A fixed statement without parameters, reused from the connection's cache (diesel's
/// `sql_query` marks itself unsafe to cache, so it is parsed again on every run).
#[derive(Debug, Clone, Copy)]
pub struct Fixed(pub &'static str);

impl<DB: Backend> QueryFragment<DB> for Fixed {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

impl QueryId for Fixed {
    type QueryId = ();
    /// No static id: the cache keys the statement by its SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Conn> RunQueryDsl<Conn> for Fixed {}
