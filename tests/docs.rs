//! The docs against the code they describe: counts and figures the docs quote must not be hand-copied
//! from a test run (they go stale the day a test is added); they point at the closing notes instead.

use std::path::{Path, PathBuf};

/// Number words a count could be spelled with.
const NUMBER_WORDS: &[&str] = &[
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// Each `(line number, line)` of `text` that quotes a test count: `7 tests`, `1 test`, `16 tests (+1 ignored)`,
/// `eight tests`.
fn quoted_test_counts(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let words: Vec<String> = line
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '+' || c == ',' || c == ':' || c == ';' || c == '`')
            .filter(|w| !w.is_empty())
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
            .collect();
        let counted = words.windows(2).any(|pair| {
            let is_digits = !pair[0].is_empty() && pair[0].chars().all(|c| c.is_ascii_digit());
            let is_word = NUMBER_WORDS.contains(&pair[0].as_str());
            (is_digits && matches!(pair[1].as_str(), "test" | "tests" | "ignored")) || (is_word && pair[1] == "tests")
        });
        if counted {
            out.push((n + 1, line.to_string()));
        }
    }
    out
}

fn markdown_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let docs = std::fs::read_dir(root.join("docs")).unwrap_or_else(|e| panic!("cannot list docs/: {e}"));
    files.extend(docs.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "md")));
    files.sort();
    files
}

#[test]
fn the_scanner_finds_the_counts_docs_used_to_hand_copy_and_passes_plain_prose() {
    let stale = "Measured with `cargo test --test runbooks`:\n7 tests in 33.7 s, of which `lab up` 10.3–16 s.\n\
                 `cargo test --test kube_standin`: 16 tests (+1 ignored), ~62 s\n- `cargo test --test lab`: 8 tests, 14.6 s\n\
                 there are eight tests here\nit has 1 test";
    let found: Vec<usize> = quoted_test_counts(stale).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, vec![2, 3, 4, 5, 6], "{found:?}");
    let fine = "Checked by `cargo test --test runbooks`; durations: see the closing notes.\n\
                one test is ignored by default\nthe 10,000-pod test\nwaits 2 s for the test's grace";
    assert_eq!(quoted_test_counts(fine), vec![], "plain prose is not a count");
}

#[test]
fn no_doc_quotes_a_test_count() {
    let mut found = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        for (n, line) in quoted_test_counts(&text) {
            found.push(format!("{}:{n}: {line}", file.display()));
        }
    }
    assert!(
        found.is_empty(),
        "docs quote test counts that go stale when a test is added; say \"see the closing notes\" instead:\n{}",
        found.join("\n")
    );
}
