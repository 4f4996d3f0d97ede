//! What the shell and `man` know of `twindrop`, both made from the one clap definition: shell
//! completion scripts (`twindrop completions SHELL`) and the man page (`twindrop man`, hidden;
//! the .deb writes it to `twindrop.1` at packaging time).

use std::io::Write;

use clap::CommandFactory;

use crate::Cli;

pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "twindrop", out);
}

/// `twindrop.1`: the top-level page, with each subcommand's usage, options and environment
/// variables in a section of its own (one page is easier to ship than one per subcommand).
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        writeln!(out, ".SH \"TWINDROP {}\"", name.to_uppercase())?;
        let page = clap_mangen::Man::new(sub.clone().name(format!("twindrop {name}")));
        let mut section = Vec::new();
        page.render_synopsis_section(&mut section)?;
        page.render_description_section(&mut section)?;
        page.render_options_section(&mut section)?;
        if sub.has_subcommands() {
            page.render_subcommands_section(&mut section)?;
        }
        if sub.get_after_help().is_some() {
            page.render_extra_section(&mut section)?;
        }
        // Its sections become subsections of its own.
        let section = String::from_utf8_lossy(&section).replace("\n.SH ", "\n.SS ");
        out.write_all(section.strip_prefix(".SH ").map(|s| format!(".SS {s}")).unwrap_or(section).as_bytes())?;
    }
    environment(&command, out)?;
    man.render_extra_section(out)?;
    man.render_version_section(out)?;
    man.render_authors_section(out)
}

/// clap_mangen does not show an option's variable: one list of them all, each with its flag
/// and the subcommands that take it.
fn environment(command: &clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let mut found: std::collections::BTreeMap<String, (String, Vec<String>)> = Default::default();
    let mut visit = vec![(String::new(), command)];
    while let Some((path, cmd)) = visit.pop() {
        for arg in cmd.get_arguments() {
            let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else { continue };
            let entry =
                found.entry(env.to_string_lossy().into_owned()).or_insert_with(|| (long.to_owned(), Vec::new()));
            if !path.is_empty() && !entry.1.contains(&path) {
                entry.1.push(path.clone());
            }
        }
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            visit.push((format!("{path} {}", sub.get_name()).trim().to_owned(), sub));
        }
    }
    writeln!(out, ".SH ENVIRONMENT")?;
    writeln!(out, "Each flag may be set by its variable; a flag on the command line wins. TWINDROP_SECRET holds the secret itself (see SECRET below); TWINDROP_LOG is a tracing filter used when neither \\-v nor \\-q is given; TWINDROP_CONFIG_DIR and TWINDROP_DATA_DIR move the settings and the journals.")?;
    for (env, (long, mut commands)) in found {
        commands.sort();
        let within = match commands.is_empty() {
            true => String::new(),
            false => format!(" ({})", commands.join(", ")),
        };
        writeln!(out, ".TP\n\\fB{env}\\fR\n\\-\\-{}{within}", long.replace('-', "\\-"))?;
    }
    writeln!(out, ".SH SECRET\n{}", crate::connection::SECRET_SOURCES.replace('-', "\\-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bash_completion_knows_the_subcommands_and_the_words() {
        let bash = text(|out| completions(clap_complete::Shell::Bash, out));
        for word in ["upload", "sync", "doctor", "completions", "--secret-file", "--bwlimit"] {
            assert!(bash.contains(word), "{word} missing");
        }
        // The fixed sets of words, listed for completion.
        for word in [
            "trusted-twin redivis inspect hbr",
            "skip rename replace",
            "access_optimized cost_optimized",
            "ignore mirror",
        ] {
            assert!(bash.contains(word), "{word:?} missing");
        }
        // Zsh and fish list the words too; elvish and PowerShell complete flags and subcommands.
        for shell in [clap_complete::Shell::Zsh, clap_complete::Shell::Fish] {
            let script = text(|out| completions(shell, out));
            assert!(script.contains("upload") && script.contains("cost_optimized"), "{shell}");
        }
        for shell in [clap_complete::Shell::Elvish, clap_complete::Shell::PowerShell] {
            assert!(text(|out| completions(shell, out)).contains("--on-conflict"), "{shell}");
        }
    }

    #[test]
    fn the_man_page_has_every_subcommand_and_the_environment() {
        let page = text(|out| man(out).unwrap());
        assert!(page.starts_with(".ie") || page.contains(".TH twindrop 1"), "{}", &page[..200.min(page.len())]);
        for sub in Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
            assert!(
                page.contains(&format!(".SH \"TWINDROP {}\"", sub.get_name().to_uppercase())),
                "{}",
                sub.get_name()
            );
        }
        for word in [
            "TWINDROP_TWIN",
            "TWINDROP_SECRET_FILE",
            "TWINDROP_EMULATOR_SECRET",
            "\\-\\-on\\-conflict",
            ".SH ENVIRONMENT",
        ] {
            assert!(page.contains(word), "{word} missing");
        }
        assert!(!page.contains("TWINDROP MAN"), "the man subcommand is hidden");
    }
}
