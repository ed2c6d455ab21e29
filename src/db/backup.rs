//! `switchboard backup PATH`: a consistent copy of the SQLite database while the server runs.
//!
//! `VACUUM INTO` reads the database in one read transaction (so the copy is a single point in
//! time, WAL included, whatever the writer does meanwhile) and writes a compact new file. The
//! copy is written beside the target as `PATH.partial` and renamed into place only once it is
//! complete, so a `PATH` that exists is always a whole backup. PostgreSQL has its own tools
//! (`pg_dump`, base backups): the command says so instead of copying anything.

use std::path::{Path, PathBuf};

use diesel::{sql_types::Text, RunQueryDsl};

use super::{Backend, DbConnection};

/// What a backup wrote.
#[derive(Debug)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Copies the SQLite database at `url` to `to`, which must not exist yet.
pub fn backup(url: &str, to: &Path) -> Result<Backup, String> {
    let path = match Backend::from_url(url)? {
        Backend::Postgres(_) => {
            return Err(
                "the database is PostgreSQL: back it up with pg_dump (or a base \
                        backup); see \"Backups\" in the README"
                    .to_owned(),
            )
        }
        Backend::Sqlite(path) => path,
    };
    if !path.exists() {
        return Err(format!("no database at {}", path.display()));
    }
    if to.exists() {
        return Err(format!(
            "{} exists already: choose a new file (a backup never overwrites)",
            to.display()
        ));
    }
    let partial = partial_path(to);
    // A leftover of an interrupted backup is ours to replace.
    let _ = std::fs::remove_file(&partial);
    let mut conn = Backend::Sqlite(path).connect()?;
    let DbConnection::Sqlite(c) = &mut conn else {
        return Err("not an SQLite connection".to_owned());
    };
    let target = partial
        .to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", partial.display()))?
        .to_owned();
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(&target)
        .execute(c)
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            format!("cannot write the backup to {}: {e}", partial.display())
        })?;
    std::fs::rename(&partial, to)
        .map_err(|e| format!("cannot move {} to {}: {e}", partial.display(), to.display()))?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(Backup {
        path: to.to_owned(),
        bytes,
    })
}

fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn refuses_postgres_a_missing_database_and_an_existing_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("copy.db");
        let err = backup("postgres://x@127.0.0.1/db", &target).unwrap_err();
        assert!(err.contains("pg_dump"), "{err}");
        let missing = format!("sqlite://{}", dir.path().join("none.db").display());
        assert!(backup(&missing, &target)
            .unwrap_err()
            .contains("no database"));
        std::fs::write(&target, b"keep me").unwrap();
        let db = dir.path().join("live.db");
        Backend::Sqlite(db.clone()).connect().unwrap();
        let err = backup(&format!("sqlite://{}", db.display()), &target).unwrap_err();
        assert!(err.contains("exists already"), "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    }
}
