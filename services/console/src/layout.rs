//! The frame every page shares: head, the language switch, who is signed in
//! with the sign-out form, and the stylesheet served by the console itself.

use maud::{html, Markup, DOCTYPE};

use crate::session::Signed;
use crate::Lang;

/// A whole page titled `title` around `body`; `signed` adds whoami and sign-out.
pub(crate) fn page(lang: Lang, title: &str, signed: Option<&Signed>, body: Markup) -> Markup {
    let other = match lang {
        Lang::Id => Lang::En,
        Lang::En => Lang::Id,
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("app")) }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                header {
                    a.brand href="/" { (lang.t("app")) }
                    nav {
                        a data-testid="lang-switch" href={ "/bahasa?to=" (other.code()) } { (lang.t("lang.other")) }
                        @if let Some(s) = signed {
                            span data-testid="whoami" { (lang.t("whoami")) " " (s.who()) }
                            form method="post" action="/keluar" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button data-testid="signout" type="submit" { (lang.t("signout")) }
                            }
                        } @else {
                            a href="/masuk" { (lang.t("signin.title")) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// Unix ms as `YYYY-MM-DD HH:MM` UTC (empty when unknown).
pub(crate) fn when(ms: i64) -> String {
    let t = aduan_projections::rfc3339(ms);
    match (t.get(..10), t.get(11..16)) {
        (Some(d), Some(h)) => format!("{d} {h} UTC"),
        _ => String::new(),
    }
}

/// An RFC 3339 time as [`when`] writes it.
pub(crate) fn when_text(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(d), Some(h)) => format!("{d} {h} UTC"),
        _ => rfc3339.to_owned(),
    }
}
