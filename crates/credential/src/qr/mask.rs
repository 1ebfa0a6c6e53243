//! Choosing a QR symbol's mask: the same choice as qrcode's
//! `Canvas::apply_best_mask`, made several times faster.
//!
//! The standard (ISO/IEC 18004 §7.8.3) masks the data eight ways and keeps
//! the one with the lowest penalty. qrcode scores each mask through a
//! coordinate lookup per module and a boxed closure per finder-pattern
//! position; that was a fifth of the time a card's artwork took. Here each
//! masked symbol is scored from its rows, and from its columns as the rows
//! of its transpose.
//!
//! The scores are qrcode 0.14's, quirks included (its balance score is not
//! rounded to 5% steps as the standard's is; u16 sums wrap as its release
//! build does), and a tie goes to the earlier mask in qrcode's order: so
//! the symbol is the one `QrCode::with_error_correction_level` makes, bit
//! for bit. The tests beside `qr::symbol` hold the two to each other.

use qrcode::Color;
use qrcode::canvas::{Canvas, MaskPattern};

/// The eight masks, in qrcode's order.
const PATTERNS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// The modules of `canvas` (data drawn, not yet masked) under its best
/// mask, row-major, dark as `true`.
pub(super) fn best(canvas: &Canvas, width: usize) -> Vec<bool> {
    let mut best: Option<(u16, Vec<bool>)> = None;
    for pattern in PATTERNS {
        let modules = masked(canvas, pattern);
        let score = penalty(&modules, width);
        if best.as_ref().is_none_or(|(lowest, _)| score < *lowest) {
            best = Some((score, modules));
        }
    }
    best.map(|(_, modules)| modules).unwrap_or_default()
}

/// `canvas` under `pattern`, with the format information that names it.
fn masked(canvas: &Canvas, pattern: MaskPattern) -> Vec<bool> {
    let mut c = canvas.clone();
    c.apply_mask(pattern);
    c.into_colors().into_iter().map(|c| c == Color::Dark).collect()
}

/// The transpose of a square of `width`: its columns as rows.
fn transpose(modules: &[bool], width: usize) -> Vec<bool> {
    let mut out = Vec::with_capacity(modules.len());
    for x in 0..width {
        out.extend(modules.iter().skip(x).step_by(width.max(1)));
    }
    out
}

/// The penalty of a masked symbol: runs, blocks and finder look-alikes
/// along rows and along columns, then balance.
fn penalty(modules: &[bool], width: usize) -> u16 {
    let columns = transpose(modules, width);
    let runs = runs(modules, width).wrapping_add(runs(&columns, width));
    let finders = finders(modules, width).wrapping_add(finders(&columns, width));
    runs.wrapping_add(blocks(modules, width)).wrapping_add(finders).wrapping_add(balance(modules))
}

/// Each run of five or more like modules in a row scores its length less 2.
fn runs(modules: &[bool], width: usize) -> u16 {
    let mut score = 0_u16;
    for row in modules.chunks_exact(width) {
        let mut run = 1_u16;
        for (a, b) in row.iter().zip(row.iter().skip(1)) {
            if a == b {
                run = run.wrapping_add(1);
            } else {
                if run >= 5 {
                    score = score.wrapping_add(run - 2);
                }
                run = 1;
            }
        }
        if run >= 5 {
            score = score.wrapping_add(run - 2);
        }
    }
    score
}

/// Each 2×2 block of one colour, overlaps counted, scores 3.
fn blocks(modules: &[bool], width: usize) -> u16 {
    let mut score = 0_u16;
    for (top, bottom) in modules.chunks_exact(width).zip(modules.chunks_exact(width).skip(1)) {
        let pairs = top.iter().zip(top.iter().skip(1)).zip(bottom.iter().zip(bottom.iter().skip(1)));
        for ((a, b), (c, d)) in pairs {
            if a == b && b == c && c == d {
                score = score.wrapping_add(3);
            }
        }
    }
    score
}

/// Each dark-light-dark-dark-dark-light-dark run in a row with no dark
/// module in the four before it, or in the four after it (past the edge
/// counts as light), scores 40; the symbol's own three finder patterns
/// always make nine of these, which are taken off.
fn finders(modules: &[bool], width: usize) -> u16 {
    const FINDER: [bool; 7] = [true, false, true, true, true, false, true];
    let mut score = 0_u16;
    for row in modules.chunks_exact(width) {
        for (j, window) in row.windows(7).enumerate() {
            if window != FINDER {
                continue;
            }
            let dark_in = |from: usize, to: usize| row.get(from..to.min(width)).is_some_and(|s| s.contains(&true));
            if !dark_in(j.saturating_sub(4), j) || !dark_in(j + 7, j + 11) {
                score = score.wrapping_add(40);
            }
        }
    }
    score.wrapping_sub(360)
}

/// How far the dark share is from half, in half-percent steps.
fn balance(modules: &[bool]) -> u16 {
    let dark = modules.iter().filter(|d| **d).count();
    let ratio = dark * 200 / modules.len().max(1);
    u16::try_from(ratio.abs_diff(100)).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transpose_turns_columns_into_rows() {
        let m = [true, false, false, true, true, false, false, false, true];
        assert_eq!(transpose(&m, 3), [true, true, false, false, true, false, false, false, true]);
    }

    #[test]
    fn each_score_counts_what_the_standard_counts() {
        // One row of six dark then four light: a run of 6 scores 4; the
        // four light make no run.
        let row = [true, true, true, true, true, true, false, false, false, false];
        assert_eq!(runs(&row, 10), 4);
        // A 3×3 of one colour holds four overlapping 2×2 blocks.
        assert_eq!(blocks(&[true; 9], 3), 12);
        // A finder look-alike with light on both sides, once per row: two
        // rows score 80, less the 360 of the symbol's own finders (wrapping).
        let f = [false, false, false, false, true, false, true, true, true, false, true, false, false, false, false];
        let two: Vec<bool> = f.iter().chain(f.iter()).copied().collect();
        assert_eq!(finders(&two, 15), 80_u16.wrapping_sub(360));
        // Dark on both sides within four: not a look-alike.
        let mut g = f;
        g[1] = true;
        g[13] = true;
        assert_eq!(finders(&g, 15), 0_u16.wrapping_sub(360));
        assert_eq!(balance(&[true, true, true, false]), 50);
        assert_eq!(balance(&[true, false]), 0);
    }
}
