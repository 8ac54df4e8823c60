//! Categorising text: whole words, affixes, old spellings, ties.

use super::sample;
use crate::RuleSet;

#[test]
fn categorize_handles_affixes_spelling_and_case() {
    let rs = sample();
    let cases: &[(&str, Option<&str>)] = &[
        ("Sampah menumpuk di pasar", Some("lingkungan")),
        ("SAMPAHNYA belum diangkut", Some("lingkungan")),
        // A particle and a prefix, no suffix: "di-sampah-nya".
        ("disampahnya", Some("lingkungan")),
        ("jalannya berlubang dan tergenang", Some("infrastruktur")),
        ("Jalanan rusak parah", Some("infrastruktur")),
        ("djalan di desa kami roesak", Some("infrastruktur")),
        ("puskesmasnya tutup", Some("kesehatan")),
        (
            "pelayanan pengobatan lambat, obatnya habis",
            Some("kesehatan"),
        ),
        ("anak saya ditolak sekolahnya", Some("pendidikan")),
        ("pembuatan ktp lama sekali", Some("kependudukan")),
        (
            "banyak pedagang kaki lima, PKL makin liar",
            Some("ketertiban"),
        ),
        ("air PDAM keruh sejak kemarin", Some("air-bersih")),
        ("listriknya padam tiap malam", Some("listrik")),
        // Whole words only: "jalanan" yes, "perjalananku" is no keyword word.
        ("selamat pagi, terima kasih", None),
        ("", None),
    ];
    for (text, want) in cases {
        assert_eq!(rs.categorize(text).as_deref(), *want, "text {text:?}");
    }
}

#[test]
fn categorize_counts_hits_and_breaks_ties_by_file_order() {
    let rs = RuleSet::load(
        r#"
version = "t"
[[org]]
code = "nasional"
name = "N"
[[category]]
name = "a"
keywords = ["satu", "dua"]
[[category]]
name = "b"
keywords = ["dua", "tiga", "empat"]
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rs.categorize("dua").as_deref(),
        Some("a"),
        "tie: file order"
    );
    assert_eq!(rs.categorize("satu dua").as_deref(), Some("a"));
    assert_eq!(
        rs.categorize("dua tiga").as_deref(),
        Some("b"),
        "two hits beat one"
    );
    assert_eq!(
        rs.categorize("dua dua dua satu tiga empat").as_deref(),
        Some("b")
    );
    assert_eq!(
        rs.categorize("satuan").as_deref(),
        Some("a"),
        "suffix -an stripped"
    );
    assert_eq!(rs.categorize("sat").as_deref(), None, "no partial words");
}

#[test]
fn phrases_need_their_words_in_order() {
    let rs = sample();
    // "air bersih" and "air" both hit air-bersih; "bersih air" hits only "air".
    assert_eq!(
        rs.categorize("tidak ada air bersih").as_deref(),
        Some("air-bersih")
    );
    assert_eq!(
        rs.categorize("lampu lalu lintas mati").as_deref(),
        Some("transportasi")
    );
    assert_eq!(rs.categorize("lampu mati lalu lintas").as_deref(), None);
}

#[test]
fn nasal_prefixes_restore_the_root_consonant() {
    let rs = RuleSet::load(
        r#"
version = "t"
[[org]]
code = "nasional"
name = "N"
[[category]]
name = "c"
keywords = ["tebang", "sapu", "pukul", "kirim"]
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for text in [
        "menebang",
        "menyapu",
        "memukul",
        "mengirimkan",
        "ditebang",
        "penebangan",
    ] {
        assert_eq!(rs.categorize(text).as_deref(), Some("c"), "{text}");
    }
}
