//! `jj_kit::pyfmt` against CPython 3.11.7: `data/py_repr.rs` holds `repr(x)` and
//! `json.dumps(x)` computed by `gen/py_repr.py` for edge cases and random floats.

use jj_kit::pyfmt::{write_json_float, write_json_string_ascii, write_py_float};

include!("data/py_repr.rs");

#[test]
fn float_repr_matches_cpython() {
    assert!(PY_REPR.len() >= 60);
    let mut out = Vec::new();
    for &(bits, repr, json) in PY_REPR {
        let x = f64::from_bits(bits);
        out.clear();
        write_py_float(&mut out, x);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            repr,
            "repr of {bits:#018x}"
        );
        out.clear();
        write_json_float(&mut out, x);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            json,
            "json of {bits:#018x}"
        );
    }
}

#[test]
fn float_repr_round_trips() {
    let mut out = Vec::new();
    for &(bits, _, _) in PY_REPR {
        let x = f64::from_bits(bits);
        if !x.is_finite() {
            continue;
        }
        out.clear();
        write_py_float(&mut out, x);
        let back: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
        assert_eq!(back.to_bits(), bits);
    }
}

/// Expected text from `json.dumps(s)` (CPython 3.11.7, default `ensure_ascii=True`).
#[test]
fn json_string_matches_cpython() {
    let cases: &[(&str, &str)] = &[
        ("", r#""""#),
        ("www.example.com", r#""www.example.com""#),
        ("tab\there", r#""tab\there""#),
        ("q\"b\\s/", r#""q\"b\\s/""#),
        ("\u{1}\u{1b}\u{7f}", r#""\u0001\u001b\u007f""#),
        (
            "caf\u{e9} \u{2603} \u{1f600}",
            r#""caf\u00e9 \u2603 \ud83d\ude00""#,
        ),
        (
            "SSH-2.0-OpenSSH_8.9p1\r\n",
            r#""SSH-2.0-OpenSSH_8.9p1\r\n""#,
        ),
    ];
    let mut out = Vec::new();
    for &(s, want) in cases {
        out.clear();
        write_json_string_ascii(&mut out, s);
        assert_eq!(std::str::from_utf8(&out).unwrap(), want);
    }
}
