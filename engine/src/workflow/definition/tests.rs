//! Tests of the definition parser and checker, and of the loaded set: each check's error and
//! line, a multi-problem file, hashing, lookups, and loading from a folder.

use super::*;

const EXAMPLE: &str = r#"name = "research_task"
subject = "task"
initial = "open"

[states.open]
[states.claimed]
[states.accepted]
terminal = true

[[transitions]]
name = "claim"
from = ["open"]
to = "claimed"
roles = ["expert"]
guards = ["within_claim_limit"]
effects = [{ notify = "chair", template = "task_claimed" }]

[[transitions]]
name = "accept"
from = ["claimed"]
to = "accepted"
roles = ["chair"]
"#;

/// Head of a valid file: states `open` -> `done`, transition `finish`.
const HEAD: &str = "name = \"wf\"\nsubject = \"thing\"\ninitial = \"open\"\n";

fn vocab() -> Vocabulary {
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    Vocabulary {
        guards: set(&["within_claim_limit"]),
        roles: set(&["expert", "chair", "admin"]),
        templates: set(&["task_claimed"]),
    }
}

fn errors(source: &str) -> Vec<DefinitionError> {
    match Definition::parse("wf.toml", source, &vocab()) {
        Ok(_) => panic!("expected errors, file loaded:\n{source}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_error(source: &str, line: usize, reason: &str) {
    let errs = errors(source);
    assert!(
        errs.iter()
            .any(|e| e.line == line && e.reason.contains(reason)),
        "no error at line {line} containing {reason:?}; got:\n{}",
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn load(source: &str) -> Definition {
    match Definition::parse("wf.toml", source, &vocab()) {
        Ok(d) => d,
        Err(e) => panic!("expected to load, got {e:?}"),
    }
}

/// A valid minimal file with `extra` appended.
fn minimal(extra: &str) -> String {
    format!(
        "{HEAD}\n[states.open]\n[states.done]\nterminal = true\n\n[[transitions]]\nname = \"finish\"\nfrom = [\"open\"]\nto = \"done\"\nroles = [\"chair\"]\n{extra}"
    )
}

#[test]
fn example_loads() {
    let d = load(EXAMPLE);
    assert_eq!(d.name, "research_task");
    assert_eq!(d.subject, "task");
    assert_eq!(d.initial, "open");
    let names: Vec<_> = d.states.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["open", "claimed", "accepted"]);
    assert!(d.is_terminal("accepted"));
    assert!(!d.is_terminal("open"));
    assert!(!d.is_terminal("nowhere"));
    let claim = d.transition("claim").expect("claim");
    assert_eq!(claim.from, ["open"]);
    assert_eq!(claim.to, "claimed");
    assert_eq!(claim.roles, ["expert"]);
    assert_eq!(claim.guards, ["within_claim_limit"]);
    assert_eq!(
        claim.effects,
        [EffectDef::Notify {
            role: "chair".into(),
            template: "task_claimed".into()
        }]
    );
    assert!(!claim.reason_required);
    assert!(!claim.needs_input());
    assert!(!claim.is_creation());
    assert_eq!(d.transitions[1].name, "accept");
    assert_eq!(d.creation_transitions().count(), 0);
    let from_open: Vec<_> = d.transitions_from("open").map(|t| &t.name).collect();
    assert_eq!(from_open, ["claim"]);
    assert!(d.state("claimed").is_some());
    assert!(d.state("nope").is_none());
    assert_eq!(d.file, "wf.toml");
    assert_eq!(d.source, EXAMPLE);
    assert_eq!(d.hash.len(), 64);
    assert!(
        d.hash
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    );
}

#[test]
fn display_of_error() {
    let e = DefinitionError {
        file: "a.toml".into(),
        line: 3,
        reason: "bad".into(),
        excerpt: None,
    };
    assert_eq!(e.to_string(), "a.toml:3: bad");
    let _: &dyn std::error::Error = &e;
    let unlocated = DefinitionError {
        file: "workflows".into(),
        line: 0,
        reason: "the folder does not exist".into(),
        excerpt: None,
    };
    assert_eq!(
        unlocated.to_string(),
        "workflows: the folder does not exist"
    );
}

#[test]
fn syntax_error_stops_with_line() {
    let errs = errors("name = \"a\"\nsubject = \"x\ninitial = 3\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 2);
    assert!(errs[0].reason.contains("string"), "{:?}", errs[0]);
    assert!(!errs[0].reason.contains('\n'));
    // The diagram keeps its line breaks: the line, and a caret under the fault.
    let shown = errs[0].to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 4, "{shown}");
    assert!(lines[0].starts_with("wf.toml:2: "), "{shown}");
    assert_eq!(lines[1], "  |");
    assert_eq!(lines[2], "2 | subject = \"x");
    // Under the unterminated string, where the parser gave up: at the end of the line.
    assert!(lines[3].starts_with("  | "), "{shown}");
    let caret = lines[3].find('^').expect("a caret");
    assert!(caret >= lines[2].find('"').expect("a quote"), "{shown}");
    assert!(caret <= lines[2].len(), "{shown}");
}

#[test]
fn duplicate_toml_key_is_a_syntax_error() {
    assert_error(&minimal("[states.open]\n"), 14, "duplicate key");
}

#[test]
fn unknown_top_level_key() {
    let src = format!("owner = \"me\"\n{}", minimal(""));
    assert_error(&src, 1, "unknown key `owner`");
}

#[test]
fn unknown_key_in_state() {
    let src = minimal("").replace("terminal = true", "terminal = true\ncolour = \"red\"");
    assert_error(&src, 8, "unknown key `colour` in state `done`");
}

#[test]
fn unknown_key_in_transition() {
    assert_error(
        &minimal("priority = 2\n"),
        14,
        "unknown key `priority` in transition `finish`",
    );
}

#[test]
fn unknown_key_in_effect() {
    let src =
        minimal("effects = [{ notify = \"chair\", template = \"task_claimed\", cc = \"x\" }]\n");
    assert_error(&src, 14, "unknown key `cc` in `notify` effect");
}

#[test]
fn missing_required_keys_are_on_line_one() {
    let src = minimal("").replacen("name = \"wf\"\n", "", 1);
    assert_error(&src, 1, "missing key `name`");
    let src = minimal("").replace("subject = \"thing\"\n", "");
    assert_error(&src, 1, "missing key `subject`");
    let src = minimal("").replace("initial = \"open\"\n", "");
    assert_error(&src, 1, "missing key `initial`");
}

#[test]
fn wrong_type_for_top_level_key() {
    let src = minimal("").replace("subject = \"thing\"", "subject = 7");
    assert_error(&src, 2, "`subject` must be a string");
}

#[test]
fn names_must_be_snake_case() {
    let src = minimal("").replace("name = \"wf\"", "name = \"Research\"");
    assert_error(&src, 1, "workflow name `Research` must be snake_case");
    let src = minimal("").replace("name = \"wf\"", "name = \"\"");
    assert_error(&src, 1, "workflow name must not be empty");
    let src = minimal("").replace("subject = \"thing\"", "subject = \"a-thing\"");
    assert_error(&src, 2, "subject `a-thing` must be snake_case");
    let src = minimal("")
        .replace("[states.done]", "[states.Done]")
        .replace("\"done\"", "\"Done\"");
    assert_error(&src, 6, "state name `Done` must be snake_case");
    let src = minimal("").replace("name = \"finish\"", "name = \"1finish\"");
    assert_error(&src, 10, "transition name `1finish` must be snake_case");
}

#[test]
fn at_least_one_state() {
    let src = format!("{HEAD}\n[states]\n");
    assert_error(&src, 5, "at least one state is required");
    assert_error(HEAD, 1, "missing key `states`");
}

#[test]
fn at_least_one_terminal_state() {
    let src = minimal("").replace("terminal = true\n", "");
    assert_error(&src, 5, "no terminal state");
}

#[test]
fn state_terminal_must_be_bool() {
    let src = minimal("").replace("terminal = true", "terminal = \"yes\"");
    assert_error(&src, 7, "`terminal` must be `true` or `false`");
}

#[test]
fn state_description_allowed() {
    let src = minimal("").replace("[states.open]", "[states.open]\ndescription = \"new\"");
    load(&src);
}

#[test]
fn initial_must_be_declared() {
    let src = minimal("").replace("initial = \"open\"", "initial = \"opened\"");
    assert_error(&src, 3, "unknown state `opened`");
}

#[test]
fn initial_must_not_be_terminal() {
    let src = minimal("").replace("initial = \"open\"", "initial = \"done\"");
    assert_error(&src, 3, "initial state `done` is terminal");
}

#[test]
fn transition_needs_name() {
    let src = minimal("").replace("name = \"finish\"\n", "");
    assert_error(&src, 9, "transition #1 has no `name`");
}

#[test]
fn transition_needs_from() {
    let src = minimal("").replace("from = [\"open\"]\n", "");
    assert_error(
        &src,
        9,
        "transition `finish` has no `from` (use `from = []` for a creation transition)",
    );
}

#[test]
fn transition_needs_to() {
    let src = minimal("").replace("to = \"done\"\n", "");
    assert_error(&src, 9, "transition `finish` has no `to`");
}

#[test]
fn transition_needs_roles() {
    let src = minimal("").replace("roles = [\"chair\"]\n", "");
    assert_error(&src, 9, "transition `finish` has no `roles`");
    let src = minimal("").replace("roles = [\"chair\"]", "roles = []");
    assert_error(&src, 13, "empty `roles`");
}

#[test]
fn unknown_role() {
    let src = minimal("").replace("roles = [\"chair\"]", "roles = [\"chair\",\n  \"janitor\"]");
    assert_error(&src, 14, "unknown role `janitor`");
}

#[test]
fn unknown_guard() {
    assert_error(
        &minimal("guards = [\"within_claim_limit\", \"g\"]\n"),
        14,
        "unknown guard `g`",
    );
}

#[test]
fn unknown_effect_kind() {
    assert_error(
        &minimal("effects = [{ email = \"chair\", template = \"task_claimed\" }]\n"),
        14,
        "unknown effect `email`",
    );
}

#[test]
fn effect_with_no_kind_or_two_kinds() {
    assert_error(
        &minimal("effects = [{ template = \"task_claimed\" }]\n"),
        14,
        "names no effect kind",
    );
    assert_error(
        &minimal("effects = [\"notify\"]\n"),
        14,
        "must be inline tables",
    );
}

#[test]
fn notify_needs_template() {
    assert_error(
        &minimal("effects = [{ notify = \"chair\" }]\n"),
        14,
        "`notify` effect of transition `finish` requires `template`",
    );
}

#[test]
fn notify_role_and_template_must_be_known() {
    assert_error(
        &minimal("effects = [{ notify = \"mayor\", template = \"task_claimed\" }]\n"),
        14,
        "unknown role `mayor`",
    );
    assert_error(
        &minimal("effects = [{ notify = \"chair\", template = \"nope\" }]\n"),
        14,
        "unknown template `nope`",
    );
}

#[test]
fn effects_as_array_of_tables_also_work() {
    let d = load(&minimal(
        "\n[[transitions.effects]]\nnotify = \"chair\"\ntemplate = \"task_claimed\"\n",
    ));
    assert_eq!(d.transitions[0].effects.len(), 1);
}

#[test]
fn reason_required_defaults_false_and_reads_true() {
    assert!(!load(&minimal("")).transitions[0].reason_required);
    assert!(load(&minimal("reason_required = true\n")).transitions[0].reason_required);
    assert_error(
        &minimal("reason_required = 1\n"),
        14,
        "`reason_required` must be",
    );
}

#[test]
fn input_fields_are_camel_case() {
    let d = load(&minimal("input = [\"dueDate\", \"notes\"]\n"));
    assert_eq!(d.transitions[0].input, ["dueDate", "notes"]);
    assert!(d.transitions[0].needs_input());
    assert_error(
        &minimal("input = [\"due_date\"]\n"),
        14,
        "input field `due_date`",
    );
    assert_error(
        &minimal("input = [\"notes\", \"notes\"]\n"),
        14,
        "listed twice",
    );
}

#[test]
fn transition_description_allowed() {
    load(&minimal("description = \"close it\"\n"));
}

#[test]
fn duplicate_transition_is_reported_at_the_second() {
    let src = minimal(
        "\n[[transitions]]\nname = \"finish\"\nfrom = [\"open\"]\nto = \"done\"\nroles = [\"admin\"]\n",
    );
    assert_error(
        &src,
        16,
        "duplicate transition `finish` (first defined on line 10)",
    );
    assert_eq!(errors(&src).len(), 1);
}

#[test]
fn transitions_may_share_from_and_to() {
    let d = load(&minimal(
        "\n[[transitions]]\nname = \"abandon\"\nfrom = [\"open\"]\nto = \"done\"\nroles = [\"admin\"]\n",
    ));
    assert_eq!(d.transitions_from("open").count(), 2);
}

#[test]
fn unknown_state_in_from_and_to() {
    let src = minimal("").replace("from = [\"open\"]", "from = [\"open\", \"opne\"]");
    assert_error(&src, 11, "unknown state `opne`");
    let src = minimal("").replace("to = \"done\"", "to = \"dnoe\"");
    assert_error(&src, 12, "unknown state `dnoe`");
}

#[test]
fn no_transition_out_of_terminal_state() {
    let src = minimal(
        "\n[[transitions]]\nname = \"reopen\"\nfrom = [\"done\"]\nto = \"open\"\nroles = [\"admin\"]\n",
    );
    assert_error(&src, 17, "leaves terminal state `done`");
}

#[test]
fn unreachable_state() {
    let src = minimal("").replace("[states.done]", "[states.limbo]\n\n[states.done]");
    assert_error(&src, 6, "state `limbo` is unreachable");
}

#[test]
fn no_path_to_terminal_state() {
    let src = minimal(
        "\n[[transitions]]\nname = \"park\"\nfrom = [\"open\"]\nto = \"parked\"\nroles = [\"admin\"]\n",
    )
    .replace("[states.done]", "[states.parked]\n[states.done]");
    assert_error(&src, 6, "state `parked` has no path to a terminal state");
    assert_eq!(errors(&src).len(), 1);
}

#[test]
fn creation_transition_may_target_any_state() {
    let src = minimal(
        "\n[[transitions]]\nname = \"import\"\nfrom = []\nto = \"imported\"\nroles = [\"admin\"]\n\n[[transitions]]\nname = \"settle\"\nfrom = [\"imported\"]\nto = \"done\"\nroles = [\"admin\"]\n",
    )
    .replace("[states.done]", "[states.imported]\n[states.done]");
    let d = load(&src);
    let created: Vec<_> = d.creation_transitions().map(|t| t.name.as_str()).collect();
    assert_eq!(created, ["import"]);
    assert!(d.transition("import").is_some_and(|t| t.is_creation()));
    // Without the creation transition `imported` is reached by nothing.
    let src = src.replace("from = []", "from = [\"imported\"]");
    assert_error(&src, 6, "state `imported` is unreachable");
}

#[test]
fn multi_error_file_reports_everything_in_line_order() {
    let src = r#"name = "Bad Name"
subject = "task"
initial = "open"
colour = "blue"

[states.open]
[states.orphan]
[states.done]
terminal = true

[[transitions]]
name = "finish"
from = ["open"]
to = "done"
roles = ["janitor"]
guards = ["nope"]
effects = [{ shout = "chair" }]

[[transitions]]
name = "finish"
from = ["done"]
to = "missing"
roles = ["chair"]
"#;
    let errs = errors(src);
    let expect = [
        (1, "workflow name `Bad Name` must be snake_case"),
        (4, "unknown key `colour`"),
        (7, "state `orphan` is unreachable"),
        (15, "unknown role `janitor`"),
        (16, "unknown guard `nope`"),
        (17, "unknown effect `shout`"),
        (20, "duplicate transition `finish`"),
        (21, "leaves terminal state `done`"),
        (22, "unknown state `missing`"),
    ];
    for (line, reason) in expect {
        assert!(
            errs.iter()
                .any(|e| e.line == line && e.reason.contains(reason)),
            "missing {line}: {reason} in {errs:#?}"
        );
    }
    assert_eq!(errs.len(), expect.len(), "{errs:#?}");
    assert!(errs.windows(2).all(|w| w[0].line <= w[1].line));
    assert!(errs.iter().all(|e| e.file == "wf.toml"));
}

#[test]
fn hash_is_stable_and_follows_the_text() {
    let a = load(EXAMPLE);
    let b = load(EXAMPLE);
    assert_eq!(a.hash, b.hash);
    let changed = load(&format!("{EXAMPLE}\n# a comment\n"));
    assert_ne!(a.hash, changed.hash);
    // SHA-256 of the empty string, to pin the encoding.
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

fn other_workflow(name: &str, subject: &str) -> String {
    EXAMPLE
        .replace("name = \"research_task\"", &format!("name = \"{name}\""))
        .replace("subject = \"task\"", &format!("subject = \"{subject}\""))
}

#[test]
fn definitions_lookups_and_set_hash() {
    let sources = vec![
        ("b.toml".to_string(), other_workflow("review", "paper")),
        ("a.toml".to_string(), EXAMPLE.to_string()),
    ];
    let set = Definitions::from_sources(&sources, &vocab()).expect("loads");
    let names: Vec<_> = set.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["research_task", "review"]);
    let research = set.get("research_task").expect("by name");
    assert_eq!(research.file, "a.toml");
    assert!(Arc::ptr_eq(
        research,
        set.by_subject("task").expect("by subject")
    ));
    assert!(Arc::ptr_eq(
        research,
        set.by_hash(&research.hash).expect("by hash")
    ));
    assert!(set.get("task").is_none());

    let reversed: Vec<_> = sources.iter().rev().cloned().collect();
    let again = Definitions::from_sources(&reversed, &vocab()).expect("loads");
    assert_eq!(set.set_hash(), again.set_hash());
    let edited = vec![
        sources[0].clone(),
        ("a.toml".to_string(), format!("{EXAMPLE}# v2\n")),
    ];
    let edited = Definitions::from_sources(&edited, &vocab()).expect("loads");
    assert_ne!(set.set_hash(), edited.set_hash());
}

#[test]
fn retired_definitions_are_reachable_only_by_hash() {
    let mut set = Definitions::from_sources(
        &[("a.toml".to_string(), format!("{EXAMPLE}# v2\n"))],
        &vocab(),
    )
    .expect("loads");
    let before = set.set_hash();
    let old = Arc::new(load(EXAMPLE));
    set.insert_retired(Arc::clone(&old));
    assert!(set.by_hash(&old.hash).is_some_and(|d| Arc::ptr_eq(d, &old)));
    assert_ne!(set.get("research_task").map(|d| &d.hash), Some(&old.hash));
    assert_eq!(set.iter().count(), 1);
    assert_eq!(set.set_hash(), before);
}

#[test]
fn definitions_refuse_duplicate_names_and_subjects() {
    let sources = vec![
        ("a.toml".to_string(), EXAMPLE.to_string()),
        (
            "b.toml".to_string(),
            other_workflow("research_task", "paper"),
        ),
    ];
    let errs = Definitions::from_sources(&sources, &vocab()).expect_err("clash");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].file.as_str(), errs[0].line), ("b.toml", 1));
    assert!(errs[0].reason.contains("already defined in a.toml"));

    let sources = vec![
        ("a.toml".to_string(), EXAMPLE.to_string()),
        ("b.toml".to_string(), other_workflow("review", "task")),
    ];
    let errs = Definitions::from_sources(&sources, &vocab()).expect_err("clash");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].file.as_str(), errs[0].line), ("b.toml", 2));
    assert!(errs[0].reason.contains("subject `task`"));
}

#[test]
fn definitions_collect_errors_from_every_file() {
    let sources = vec![
        ("a.toml".to_string(), "name = ".to_string()),
        ("b.toml".to_string(), minimal("guards = [\"g\"]\n")),
    ];
    let errs = Definitions::from_sources(&sources, &vocab()).expect_err("bad");
    let files: Vec<_> = errs.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files, ["a.toml", "b.toml"]);
}

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "govflow-wfdef-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).expect("write");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn load_dir_reads_toml_files_in_name_order() {
    let dir = TempDir::new("ok");
    dir.write("research.toml", EXAMPLE);
    dir.write("review.toml", &other_workflow("review", "paper"));
    dir.write("README.md", "not a definition");
    let set = Definitions::load_dir(&dir.0, &vocab()).expect("loads");
    assert_eq!(set.iter().count(), 2);
    let research = set.get("research_task").expect("loaded");
    assert_eq!(
        research.file,
        dir.0.join("research.toml").display().to_string()
    );

    // The later file in name order is the one blamed for a clash.
    dir.write("zz_copy.toml", EXAMPLE);
    let errs = Definitions::load_dir(&dir.0, &vocab()).expect_err("clash");
    assert_eq!(errs.len(), 2, "{errs:?}");
    let copy = dir.0.join("zz_copy.toml").display().to_string();
    assert!(errs.iter().all(|e| e.file == copy), "{errs:?}");
}

#[test]
fn load_dir_reports_file_names_and_lines() {
    let dir = TempDir::new("bad");
    dir.write("good.toml", EXAMPLE);
    dir.write("bad.toml", &minimal("guards = [\"g\"]\n"));
    let errs = Definitions::load_dir(&dir.0, &vocab()).expect_err("bad");
    assert_eq!(errs.len(), 1, "{errs:?}");
    let bad = dir.0.join("bad.toml").display().to_string();
    assert_eq!(errs[0].file, bad);
    assert_eq!(errs[0].line, 14);
    assert!(
        errs[0]
            .to_string()
            .starts_with(&format!("{bad}:14: unknown guard `g`"))
    );
}

#[test]
fn load_dir_refuses_empty_and_missing_folders() {
    let dir = TempDir::new("empty");
    dir.write("notes.txt", "");
    let errs = Definitions::load_dir(&dir.0, &vocab()).expect_err("empty");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 0);
    assert!(errs[0].reason.contains("no workflow definitions in"));

    let missing = dir.0.join("nope");
    let errs = Definitions::load_dir(&missing, &vocab()).expect_err("missing");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].file, missing.display().to_string());
    assert_eq!(errs[0].line, 0);
    assert_eq!(errs[0].reason, "the folder does not exist");
}

#[test]
fn load_dir_reports_unreadable_file() {
    let dir = TempDir::new("unreadable");
    dir.write("good.toml", EXAMPLE);
    std::fs::write(dir.0.join("binary.toml"), [0xff, 0xfe, 0x00]).expect("write");
    let errs = Definitions::load_dir(&dir.0, &vocab()).expect_err("unreadable");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].file,
        dir.0.join("binary.toml").display().to_string()
    );
    assert_eq!(errs[0].line, 0);
}
