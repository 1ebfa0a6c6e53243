//! A synthetic force for the demo and the benchmarks: deterministic, plausible,
//! and entirely made up. Written as a register CSV so that the demo and the
//! benchmark go through the same import path as real data. Its own crate so
//! that the demo (in the `lanyard` binary) and the benchmarks
//! (`lanyard-bench`) share it without either reaching into the other.

use std::io::Write;
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};

/// The forenames the synthetic force draws from.
pub const FORENAMES: &[&str] = &[
    "Aisha", "Alan", "Amelia", "Ben", "Bethan", "Callum", "Chloe", "Daniel", "Deborah", "Eilidh", "Emeka", "Fatima",
    "Gareth", "Grace", "Harpreet", "Hannah", "Imran", "Isla", "Jack", "Joanne", "Kwame", "Katie", "Liam", "Lucy",
    "Mohammed", "Megan", "Niamh", "Oliver", "Olga", "Priya", "Rhys", "Rebecca", "Sean", "Siobhan", "Tom", "Zoë",
];
/// The surnames the synthetic force draws from.
pub const SURNAMES: &[&str] = &[
    "Adeyemi",
    "Ahmed",
    "Baker",
    "Brown",
    "Campbell",
    "Chen",
    "Clarke",
    "Davies",
    "Evans",
    "Fitzgerald",
    "Green",
    "Hughes",
    "Jones",
    "Kaur",
    "Khan",
    "Lewis",
    "MacDonald",
    "Mensah",
    "Morgan",
    "Nowak",
    "O'Brien",
    "Patel",
    "Roberts",
    "Robinson",
    "Singh",
    "Smith",
    "Taylor",
    "Thomas",
    "Walker",
    "White",
    "Williams",
    "Wilson",
    "Wright",
];
const UNITS: &[&str] = &[
    "Response North",
    "Response South",
    "Neighbourhood Policing",
    "CID",
    "Roads Policing",
    "Custody",
    "Public Protection",
    "Firearms",
    "Intelligence",
    "Professional Standards",
    "HR",
    "Finance",
    "ICT",
];

/// A rank with its weight in the force, salary range in pounds, and the
/// vetting levels that fit it.
struct RankMix {
    rank: &'static str,
    weight: u32,
    salary: (u32, u32),
    vetting: &'static [&'static str],
}

const fn mix(rank: &'static str, weight: u32, salary: (u32, u32), vetting: &'static [&'static str]) -> RankMix {
    RankMix { rank, weight, salary, vetting }
}

const CONSTABLE: RankMix = mix("Police Constable", 40, (28_000, 46_000), &["RV", "MV", "CTC"]);

const RANKS: &[RankMix] = &[
    CONSTABLE,
    mix("Police Sergeant", 8, (47_000, 51_000), &["RV", "MV", "SC"]),
    mix("Inspector", 4, (57_000, 62_000), &["MV", "SC"]),
    mix("Chief Inspector", 2, (63_000, 66_000), &["MV", "SC", "eSC"]),
    mix("Superintendent", 1, (79_000, 94_000), &["MV", "SC", "DV"]),
    mix("Detective Constable", 8, (28_000, 46_000), &["MV", "SC"]),
    mix("Detective Sergeant", 3, (47_000, 51_000), &["MV", "SC"]),
    mix("Detective Inspector", 1, (57_000, 62_000), &["SC", "DV"]),
    mix("Special Constable", 5, (0, 0), &["RV"]),
    mix("Police Community Support Officer", 6, (26_000, 31_000), &["RV", "NPPV2F"]),
    mix("Police Staff Band B", 6, (24_000, 28_000), &["NPPV2A", "NPPV2F"]),
    mix("Police Staff Band D", 5, (30_000, 36_000), &["NPPV2F", "NPPV3"]),
    mix("Police Staff Band F", 2, (42_000, 50_000), &["NPPV3", "SC"]),
];

fn weighted_rank(rng: &mut StdRng) -> &'static RankMix {
    let total: u32 = RANKS.iter().map(|r| r.weight).sum();
    let mut pick = rng.random_range(0..total);
    for r in RANKS {
        if pick < r.weight {
            return r;
        }
        pick -= r.weight;
    }
    &CONSTABLE
}

/// Writes `people` rows to `csv_path`; with `photos_dir`, also one placeholder
/// portrait per person.
pub fn write_force(csv_path: &Path, people: usize, photos_dir: Option<&Path>, seed: u64) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let file = std::fs::File::create(csv_path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("creating {}: {e}", csv_path.display())))?;
    let mut out = std::io::BufWriter::new(file);
    let photo_col = if photos_dir.is_some() { ",photo" } else { "" };
    writeln!(
        out,
        "service_number,forenames,surname,rank,unit,vetting_level,salary,email,vetting_expiry,pay_grade{photo_col}"
    )?;
    for i in 0..people {
        let forename = FORENAMES.choose(&mut rng).copied().unwrap_or("Alex");
        let surname = SURNAMES.choose(&mut rng).copied().unwrap_or("Smith");
        let RankMix { rank, salary: (lo, hi), vetting: levels, .. } = weighted_rank(&mut rng);
        let unit = UNITS.choose(&mut rng).copied().unwrap_or("HR");
        let level = levels.choose(&mut rng).copied().unwrap_or("RV");
        let salary = if hi > lo { rng.random_range(*lo..*hi) } else { 0 };
        let prefix = if rank.starts_with("Police Staff") {
            "S"
        } else if rank.starts_with("Special") {
            "SC"
        } else {
            "P"
        };
        let sn = format!("{prefix}{:06}", 100_000 + i);
        let email_local: String = format!("{forename}.{surname}.{i}")
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let expiry =
            format!("20{}-{:02}-{:02}", rng.random_range(27..32), rng.random_range(1..13), rng.random_range(1..29));
        let grade = format!("G{}", rng.random_range(1..9));
        let salary_text = if salary > 0 { salary.to_string() } else { String::new() };
        write!(
            out,
            "{sn},{forename},\"{surname}\",{rank},{unit},{level},{salary_text},{email_local}@demo.police.example,{expiry},{grade}"
        )?;
        if let Some(dir) = photos_dir {
            let name = format!("{sn}.png");
            write_portrait(&dir.join(&name), &mut rng)?;
            write!(out, ",{name}")?;
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

/// A head-and-shoulders silhouette on a coloured background: enough to show
/// that photos flow through, with no real face anywhere.
fn write_portrait(path: &Path, rng: &mut StdRng) -> std::io::Result<()> {
    let (w, h) = (150u32, 200u32);
    let bg = [rng.random_range(150..230u8), rng.random_range(150..230u8), rng.random_range(150..230u8)];
    let tone = [rng.random_range(60..200u8), rng.random_range(40..160u8), rng.random_range(30..120u8)];
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let head = ((fx - 75.0) / 32.0).powi(2) + ((fy - 75.0) / 40.0).powi(2) <= 1.0;
        let shoulders = fy > 125.0 && ((fx - 75.0) / 70.0).powi(2) + ((fy - 200.0) / 75.0).powi(2) <= 1.0;
        if head || shoulders { image::Rgb(tone) } else { image::Rgb(bg) }
    });
    img.save(path).map_err(|e| std::io::Error::other(format!("writing {}: {e}", path.display())))
}
