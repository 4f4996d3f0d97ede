//! Every screen at both sizes a window is given (its minimum, 760×520, and its default,
//! 1100×720), in the light and the dark theme: each screen's main buttons are the topmost
//! element at their centre (nothing covers them, so a click reaches them), nothing sticks out
//! of its card or the window, and a screenshot of each is kept in the artifacts folder. The
//! screens: the first one a new user sees, a staged batch, Uploads, Docs, Watched, Activity,
//! Settings, the guide (from Help) and the sign-in screen.

use std::path::{Path, PathBuf};

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use twindrop_e2e::{click, new_twin, screenshot, skip_without_display, wait_css, wait_staged, App};

const SIZES: [(u32, u32); 2] = [(760, 520), (1100, 720)];

/// Of these selectors, those whose element is hidden, outside the window or covered at its
/// centre, each with what is there instead. Each is first scrolled into view, as a person
/// would scroll a list or a form (a box that cannot scroll stays as it is: a button under
/// another element stays covered).
async fn covered(client: &Client, selectors: &[&str]) -> Vec<String> {
    let found = client
        .execute(
            "return arguments[0].map(css => { \
               const el = document.querySelector(css); \
               if (!el) return css + ': missing'; \
               el.scrollIntoView({ block: 'nearest', inline: 'nearest' }); \
               const r = el.getBoundingClientRect(); \
               if (r.width === 0 || r.height === 0) return css + ': not shown'; \
               const x = r.left + r.width / 2, y = r.top + r.height / 2; \
               if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) \
                 return css + ': outside the window at ' + Math.round(x) + ',' + Math.round(y); \
               const hit = document.elementFromPoint(x, y); \
               if (hit === el || el.contains(hit)) return null; \
               return css + ': covered by ' + (hit ? hit.tagName + '#' + hit.id + '.' + hit.className : 'nothing'); \
             }).filter(x => x);",
            vec![json!(selectors)],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

/// Elements that stick out of their card (outside any scrolling box inside it), and whether
/// the page itself scrolls: a screen that fits shows all of itself.
async fn overflow(client: &Client) -> Value {
    client
        .execute(
            "const out = []; \
             for (const card of document.querySelectorAll('.card')) { \
               const c = card.getBoundingClientRect(); \
               if (c.width === 0) continue; \
               for (const e of card.querySelectorAll('*')) { \
                 const r = e.getBoundingClientRect(); \
                 if (r.width === 0 || r.height === 0) continue; \
                 let clip = e.parentElement, clipped = false; \
                 while (clip && clip !== card) { \
                   const s = getComputedStyle(clip); \
                   if (/(auto|scroll|hidden)/.test(s.overflowY + s.overflowX)) { clipped = true; break; } \
                   clip = clip.parentElement; \
                 } \
                 if (clipped) continue; \
                 if (r.right > c.right + 0.5 || r.left < c.left - 0.5 || r.bottom > c.bottom + 0.5) \
                   out.push((e.id ? '#' + e.id : e.tagName + '.' + e.className) + ' in ' + (card.id || card.className)); \
               } \
             } \
             const d = document.documentElement; \
             return { sticking_out: out.slice(0, 8), page_scrolls: [d.scrollWidth - innerWidth, d.scrollHeight - innerHeight] };",
            vec![],
        )
        .await
        .unwrap()
}

async fn check(client: &Client, screen: &str, size: (u32, u32), theme: &str, primary: &[&str]) {
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    screenshot(client, &format!("layout-{}x{}-{theme}-{screen}.png", size.0, size.1)).await;
    let covered = covered(client, primary).await;
    assert!(covered.is_empty(), "{screen} at {}x{} ({theme}): {covered:?}", size.0, size.1);
    let overflow = overflow(client).await;
    assert_eq!(
        overflow,
        json!({ "sticking_out": [], "page_scrolls": [0, 0] }),
        "{screen} at {}x{} ({theme})",
        size.0,
        size.1
    );
}

/// Long names that must not push anything out: five files, as in the report.
fn files(dir: &Path) -> Vec<PathBuf> {
    let names = [
        "Quarterly report Q3 2026.pdf",
        "Zażółć gęślą jaźń — résumé 日本語.txt",
        "a-very-long-file-name-that-goes-on-and-on-for-a-while-2026-12-07.csv",
        "notes.txt",
        "photo 0001.jpg",
    ];
    std::fs::create_dir_all(dir).unwrap();
    names
        .iter()
        .map(|n| {
            let p = dir.join(n);
            std::fs::write(&p, format!("{n}\n").repeat(50)).unwrap();
            p
        })
        .collect()
}

async fn every_screen(theme: &str) {
    let home = tempfile::tempdir().unwrap();
    let files = files(&home.path().join("batch"));
    let picks = home.path().join("picks.json");
    std::fs::write(&picks, json!([files, files]).to_string()).unwrap();
    let dark = PathBuf::from("Adwaita:dark");
    let mut extra: Vec<(&str, &Path)> = vec![("TWINDROP_TEST_PICKS", picks.as_path())];
    if theme == "dark" {
        extra.push(("GTK_THEME", dark.as_path()));
    }
    let app = App::start(home.path(), &extra).await;
    let client = &app.client;
    // The first screen a new user sees, before any Twin.
    for size in SIZES {
        client.set_window_rect(0, 0, size.0, size.1).await.unwrap();
        let first = ["#twin-create", "#drop-create-twin", "#upload-add-files", "#tab-uploads", "#tab-settings"];
        check(client, "first-run", size, theme, &first).await;
    }
    new_twin(client).await;
    for size in SIZES {
        client.set_window_rect(0, 0, size.0, size.1).await.unwrap();
        click(client, "#tab-uploads").await;
        // Five staged files: the Upload button, the first name and the batch's fields show.
        click(client, "#upload-add-files").await;
        wait_staged(client, 5, 20).await;
        check(
            client,
            "upload-staged",
            size,
            theme,
            &["#upload-start", "#upload-clear", "#upload-description", "#upload-items li input"],
        )
        .await;
        click(client, "#upload-start").await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while client.find(Locator::Css("#upload-panel")).await.is_ok() {
            assert!(std::time::Instant::now() < deadline, "the batch did not start");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        wait_css(client, "#queue [role=row]", 20).await;
        let uploads = [
            "#queue-pause-all",
            "#queue-clear",
            "#queue-overall",
            "#filter-all",
            "#upload-add-files",
            "#upload-add-folder",
        ];
        check(client, "uploads", size, theme, &uploads).await;
        click(client, "#tab-docs").await;
        wait_css(client, "#docs-refresh", 10).await;
        check(client, "docs", size, theme, &["#docs-refresh", "#tab-docs"]).await;
        click(client, "#tab-watched").await;
        check(client, "watched", size, theme, &["#watched-add"]).await;
        click(client, "#tab-activity").await;
        check(client, "activity", size, theme, &["#activity-search"]).await;
        click(client, "#tab-settings").await;
        check(client, "settings", size, theme, &["#prefs-save", "#tab-settings"]).await;
        // The guide, reopened from Help, and the sign-in screen.
        click(client, "#help").await;
        wait_css(client, "#first-run", 10).await;
        check(client, "guide", size, theme, &["#first-run-close"]).await;
        click(client, "#first-run-close").await;
        click(client, "#switch-account").await;
        wait_css(client, "#screen-login", 10).await;
        check(client, "sign-in", size, theme, &["#login-sandbox", "#login-tt-submit", "#login-check"]).await;
        click(client, "#login-sandbox").await;
        wait_css(client, "#screen-main", 20).await;
    }
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_fits_both_sizes_in_the_light_theme() {
    if skip_without_display() {
        return;
    }
    every_screen("light").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_fits_both_sizes_in_the_dark_theme() {
    if skip_without_display() {
        return;
    }
    every_screen("dark").await;
}
