//! Property tests: the check-digit validators against their specifications,
//! the masks against leaking, and the scanner against arbitrary input.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use lanyard_guard::identifiers::{iban_ok, luhn_ok, nhs_number_ok, nino_prefix_ok};
use lanyard_guard::mask::mask_identifier;
use lanyard_guard::{Detector, Scanner, Verdict};
use proptest::prelude::*;

fn nhs_check(d: &[u32]) -> Option<u32> {
    let sum: u32 = d.iter().zip((2..=10).rev()).map(|(x, w)| x * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c),
    }
}

fn luhn_check(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn iban_for(bank: &str, account: &str) -> String {
    let bban = format!("{bank}{account}");
    let digits: String = format!("{bban}GB00")
        .chars()
        .map(|c| if c.is_ascii_digit() { c.to_string() } else { (c as u32 - 'A' as u32 + 10).to_string() })
        .collect();
    let rem = digits.bytes().fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
    format!("GB{:02}{bban}", 98 - rem)
}

proptest! {
    #[test]
    fn a_valid_nhs_number_passes_and_any_single_digit_change_fails(
        d in proptest::collection::vec(0u32..10, 9), pos in 0usize..10, delta in 1u32..10,
    ) {
        let Some(check) = nhs_check(&d) else { return Ok(()) };
        let mut all: Vec<u32> = d.clone();
        all.push(check);
        prop_assume!(!all.iter().all(|x| *x == all[0]));
        let text: String = all.iter().map(|x| char::from_digit(*x, 10).unwrap()).collect();
        prop_assert!(nhs_number_ok(&text));
        let mut changed = all.clone();
        changed[pos] = (changed[pos] + delta) % 10;
        let text: String = changed.iter().map(|x| char::from_digit(*x, 10).unwrap()).collect();
        prop_assert!(!nhs_number_ok(&text), "{text}");
    }

    #[test]
    fn luhn_accepts_its_check_digit_and_catches_single_digit_errors(
        payload in proptest::collection::vec(0u8..10, 12..18), pos in 0usize..12, delta in 1u8..10,
    ) {
        let mut number = payload.clone();
        number.push(luhn_check(&payload));
        prop_assert!(luhn_ok(&number));
        number[pos] = (number[pos] + delta) % 10;
        prop_assert!(!luhn_ok(&number));
    }

    #[test]
    fn a_computed_iban_passes_and_a_substitution_fails(
        bank in "[A-Z]{4}", account in "[0-9]{14}", pos in 4usize..22, c in "[0-9A-Z]",
    ) {
        let iban = iban_for(&bank, &account);
        prop_assert!(iban_ok(&iban), "{iban}");
        let mut chars: Vec<char> = iban.chars().collect();
        let replacement = c.chars().next().unwrap();
        prop_assume!(chars[pos] != replacement);
        // Keep the shape (letters where letters were) so only the check can refuse it.
        prop_assume!(chars[pos].is_ascii_digit() == replacement.is_ascii_digit());
        chars[pos] = replacement;
        let changed: String = chars.into_iter().collect();
        prop_assert!(!iban_ok(&changed), "{changed}");
    }

    #[test]
    fn a_masked_identifier_keeps_at_most_three_characters(value in "[A-Z0-9 -]{0,40}") {
        let masked = mask_identifier(&value);
        prop_assert!(masked.chars().filter(|c| *c != '*').count() <= 3, "{masked}");
    }

    #[test]
    fn a_nino_in_any_text_is_found_and_never_repeated(
        prefix in "[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]", digits in "[0-9]{6}", suffix in "[A-D]",
        before in "[a-z ]{0,30}", after in "[a-z ]{0,30}",
    ) {
        prop_assume!(nino_prefix_ok(&prefix));
        let nino = format!("{prefix}{digits}{suffix}");
        let text = format!("{before} {nino} {after}\n");
        let r = Scanner::default().scan_bytes("note.txt", text.as_bytes());
        prop_assert_eq!(r.verdict, Verdict::DoNotRelease);
        prop_assert!(r.findings.iter().any(|f| f.detector == Detector::Nino));
        let json = serde_json::to_string(&r).unwrap();
        prop_assert!(!json.contains(&nino) && !json.contains(&digits), "{}", json);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_get_a_verdict_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let s = Scanner::default();
        for name in ["x.csv", "x.txt", "x.xlsx"] {
            let r = s.scan_bytes(name, &bytes);
            prop_assert_eq!(r.exit_code, r.verdict.exit_code());
        }
        // The same bytes as a member of an archive, and of an office file.
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for part in ["xl/workbook.xml", "word/document.xml", "inner.bin"] {
            zip.start_file(part, opts).unwrap();
            std::io::Write::write_all(&mut zip, &bytes).unwrap();
        }
        let packed = zip.finish().unwrap().into_inner();
        let r = s.scan_bytes("x.zip", &packed);
        prop_assert_eq!(r.exit_code, r.verdict.exit_code());
    }
}

proptest! {
    /// The row prefilter may say yes too often, never too rarely: whatever
    /// `find` detects, `might_match` lets through.
    #[test]
    fn the_prefilter_never_hides_a_detection(
        pieces in proptest::collection::vec(prop_oneof![
            proptest::sample::select(vec![
                "AB123456C", "943 476 5919", "NHS 9434765919", "SW1A 2AA", "07700 900123", "a.b@example.org",
                "12-34-56 account 12345678", "4111 1111 1111 1111", "GB82WEST12345698765432", "AB12 CDE",
                "DOB 12/03/1984", "born 4th July 1976", "12/03/1984", "2023-05-12", "ref 2023/0412", "14:32",
                "constable", ",", " ", "\n",
            ]).prop_map(str::to_owned),
            "[0-9]{1,12}",
            "[A-Z]{1,3}",
            "[a-z@. ]{0,6}",
        ], 0..12),
        header in proptest::sample::select(vec!["", "Date of birth", "NHS number", "Notes"]),
    ) {
        let text: String = pieces.concat();
        let mut hits = Vec::new();
        lanyard_guard::identifiers::find(&text, header, &mut hits);
        if !hits.is_empty() {
            prop_assert!(lanyard_guard::identifiers::might_match(&text, header), "{text:?} / {header:?}: {hits:?}");
        }
    }
}
