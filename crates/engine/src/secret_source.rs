//! Where a secret comes from when the OS keyring is not asked: given whole (`TWINDROP_SECRET`),
//! a file (`--secret-file`), or what a command prints (`--secret-command`, like restic's
//! `RESTIC_PASSWORD_COMMAND`: `pass show twindrop`, `secret-tool lookup …`).
//!
//! Precedence: a source given on the command line, then the environment's in the order given,
//! then the keyring. A source that fails is an error (`secret.invalid`) naming the file or the
//! command, never the secret; falling through to the keyring would send another secret than
//! the one meant.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::credentials::Secret;
use crate::error::{Error, Invalid, Result};

#[derive(Debug, Clone)]
pub enum SecretSource {
    /// The secret itself (`TWINDROP_SECRET`).
    Given(Secret),
    /// A file holding it; a trailing newline is not part of it.
    File(PathBuf),
    /// A shell command (`sh -c`) that prints it on stdout; its stderr and stdin are the user's,
    /// so a pinentry or an error message shows.
    Command(String),
}

impl SecretSource {
    pub fn read(&self) -> Result<Secret> {
        let refused = |message: String| Error::invalid(Invalid::Secret, message);
        match self {
            SecretSource::Given(secret) => Ok(secret.clone()),
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| refused(format!("the secret file {}: {e}", path.display())))?;
                Secret::from_input(&text).map_err(|_| refused(format!("the secret file {} is empty", path.display())))
            }
            SecretSource::Command(command) => {
                let mut child = Command::new("sh")
                    .args(["-c", command])
                    .stdout(Stdio::piped())
                    .spawn()
                    .map_err(|e| refused(format!("cannot run the secret command `{command}`: {e}")))?;
                let mut out = Vec::new();
                let read = child.stdout.take().expect("piped").read_to_end(&mut out);
                let status = child.wait().map_err(|e| refused(format!("the secret command `{command}`: {e}")))?;
                if !status.success() {
                    return Err(refused(format!("the secret command `{command}` failed ({status})")));
                }
                read.map_err(|e| refused(format!("the secret command `{command}`: its output: {e}")))?;
                let text = String::from_utf8(out)
                    .map_err(|_| refused(format!("the secret command `{command}` printed bytes that are not UTF-8")))?;
                Secret::from_input(&text)
                    .map_err(|_| refused(format!("the secret command `{command}` printed nothing")))
            }
        }
    }

    /// The secret of the first source: one given on the command line (at most one may be),
    /// else the first of the environment's; `None` leaves it to the keyring.
    pub fn pick(command_line: &[SecretSource], environment: &[SecretSource]) -> Result<Option<Secret>> {
        if command_line.len() > 1 {
            return Err(Error::invalid(Invalid::Option, "give one of --secret-file and --secret-command, not both"));
        }
        command_line.iter().chain(environment).next().map(SecretSource::read).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_commands_give_the_secret_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cret\n").unwrap();
        assert_eq!(SecretSource::File(file.clone()).read().unwrap().expose(), "s3cret");
        let command = SecretSource::Command("printf 'fr0m cmd\\r\\n'".into());
        assert_eq!(command.read().unwrap().expose(), "fr0m cmd");
        let given = SecretSource::Given(Secret::new("g"));
        // The command line first, then the environment in order.
        let picked = SecretSource::pick(&[SecretSource::File(file)], std::slice::from_ref(&given)).unwrap();
        assert_eq!(picked.unwrap().expose(), "s3cret");
        let picked = SecretSource::pick(&[], &[given, SecretSource::Command("exit 1".into())]).unwrap();
        assert_eq!(picked.unwrap().expose(), "g");
        assert!(SecretSource::pick(&[], &[]).unwrap().is_none());
        let two = [SecretSource::Command("true".into()), SecretSource::Command("true".into())];
        assert_eq!(SecretSource::pick(&two, &[]).unwrap_err().code(), "option.invalid");
    }

    #[test]
    fn failures_name_the_source_and_never_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let missing = dir.path().join("missing");
        let cases = [
            (SecretSource::File(empty.clone()), format!("the secret file {} is empty", empty.display())),
            (SecretSource::File(missing.clone()), format!("the secret file {}", missing.display())),
            (SecretSource::Command("true".into()), "the secret command `true` printed nothing".into()),
            (SecretSource::Command("echo hidden-value; exit 3".into()), "`echo hidden-value; exit 3` failed".into()),
        ];
        for (source, said) in cases {
            let e = source.read().unwrap_err();
            assert_eq!(e.code(), "secret.invalid", "{source:?}");
            assert!(e.to_string().contains(&said), "{e}");
            assert!(!e.to_string().replace("echo hidden-value", "").contains("hidden-value"), "{e}");
        }
    }
}
