//! Word lists and reference tables for the generators: names, departments,
//! places with their network context, and user agents with the `os`/`browser`
//! values Okta derives from them.

pub const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carmen", "David", "Elena", "Farid", "Grace", "Hiro", "Isaac", "Jana", "Kwame",
    "Laura", "Mateo", "Nadia", "Oliver", "Priya", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Chloe", "Dmitri", "Emma", "Felix", "Gita",
    "Hannah", "Ivan", "Julia", "Kenji", "Lena", "Marco", "Nora",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Garcia", "Brock", "Nguyen", "Patel", "Kim", "Okafor", "Rossi", "Schmidt",
    "Dubois", "Silva", "Kowalski", "Tanaka", "Haddad", "Novak", "Larsen", "Murphy", "Cohen",
    "Moreau", "Ivanova", "Fischer", "Ali", "Chen", "Lopez", "Walker", "Young", "Hughes", "Mendes",
    "Berg", "Sato", "Reyes", "Costa", "Meyer", "Park", "Singh", "Wright", "Baker", "Adams", "Hall",
];

/// (department, titles, cost center)
pub const DEPARTMENTS: &[(&str, &[&str], &str)] = &[
    (
        "Engineering",
        &[
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Engineering Manager",
        ],
        "10",
    ),
    (
        "Finance",
        &[
            "Accountant",
            "Financial Analyst",
            "Controller",
            "Finance Manager",
        ],
        "20",
    ),
    (
        "Sales",
        &["Account Executive", "Sales Engineer", "Sales Director"],
        "30",
    ),
    (
        "Marketing",
        &[
            "Marketing Specialist",
            "Content Strategist",
            "Marketing Manager",
        ],
        "40",
    ),
    (
        "IT",
        &[
            "Systems Administrator",
            "IT Support Specialist",
            "Security Engineer",
            "IT Manager",
        ],
        "50",
    ),
    (
        "Human Resources",
        &["HR Generalist", "Recruiter", "HR Business Partner"],
        "60",
    ),
    ("Legal", &["Counsel", "Paralegal", "General Counsel"], "70"),
    (
        "Operations",
        &[
            "Operations Analyst",
            "Program Manager",
            "Operations Director",
        ],
        "80",
    ),
];

/// A place a request can come from, with the network that serves it.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub city: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub country_code: &'static str,
    pub postal: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// Leading octets; the rest are drawn at random.
    pub ip_prefix: &'static str,
    pub isp: &'static str,
    pub as_number: u32,
    pub as_org: &'static str,
    pub domain: &'static str,
    pub is_proxy: bool,
    pub timezone: &'static str,
}

// A positional constructor keeps the table below one row per place.
#[allow(clippy::too_many_arguments)]
const fn place(
    city: &'static str,
    state: &'static str,
    country: &'static str,
    country_code: &'static str,
    postal: &'static str,
    lat: f64,
    lon: f64,
    net: (&'static str, &'static str, u32, &'static str, &'static str),
    is_proxy: bool,
    timezone: &'static str,
) -> Place {
    Place {
        city,
        state,
        country,
        country_code,
        postal,
        lat,
        lon,
        ip_prefix: net.0,
        isp: net.1,
        as_number: net.2,
        as_org: net.3,
        domain: net.4,
        is_proxy,
        timezone,
    }
}

/// Where employees normally sign in from.
pub const HOME_PLACES: &[Place] = &[
    place(
        "San Francisco",
        "California",
        "United States",
        "US",
        "94107",
        37.7749,
        -122.4194,
        (
            "73.158",
            "comcast cable communications llc",
            7922,
            "comcast cable communications, llc",
            "comcast.net",
        ),
        false,
        "America/Los_Angeles",
    ),
    place(
        "New York",
        "New York",
        "United States",
        "US",
        "10013",
        40.7143,
        -74.006,
        (
            "72.229",
            "verizon business",
            701,
            "verizon business",
            "verizon.net",
        ),
        false,
        "America/New_York",
    ),
    place(
        "Chicago",
        "Illinois",
        "United States",
        "US",
        "60601",
        41.8781,
        -87.6298,
        (
            "98.226",
            "comcast cable communications llc",
            7922,
            "comcast cable communications, llc",
            "comcast.net",
        ),
        false,
        "America/Chicago",
    ),
    place(
        "Austin",
        "Texas",
        "United States",
        "US",
        "78701",
        30.2672,
        -97.7431,
        (
            "70.112",
            "at&t services inc.",
            7018,
            "at&t services, inc.",
            "att.net",
        ),
        false,
        "America/Chicago",
    ),
    place(
        "Seattle",
        "Washington",
        "United States",
        "US",
        "98101",
        47.6062,
        -122.3321,
        (
            "50.35",
            "comcast cable communications llc",
            7922,
            "comcast cable communications, llc",
            "comcast.net",
        ),
        false,
        "America/Los_Angeles",
    ),
    place(
        "Toronto",
        "Ontario",
        "Canada",
        "CA",
        "M4M",
        43.6567,
        -79.34,
        ("142.126", "bell canada", 577, "bell canada", "bell.ca"),
        false,
        "America/Toronto",
    ),
    place(
        "London",
        "England",
        "United Kingdom",
        "GB",
        "EC1A",
        51.5085,
        -0.1257,
        (
            "81.2.69",
            "british telecommunications plc",
            2856,
            "british telecommunications plc",
            "bt.com",
        ),
        false,
        "Europe/London",
    ),
    place(
        "Berlin",
        "Land Berlin",
        "Germany",
        "DE",
        "10115",
        52.52,
        13.405,
        (
            "91.64",
            "deutsche telekom ag",
            3320,
            "deutsche telekom ag",
            "telekom.de",
        ),
        false,
        "Europe/Berlin",
    ),
    place(
        "Bengaluru",
        "Karnataka",
        "India",
        "IN",
        "560001",
        12.9716,
        77.5946,
        (
            "49.207",
            "bharti airtel ltd.",
            24560,
            "bharti airtel ltd.",
            "airtel.in",
        ),
        false,
        "Asia/Kolkata",
    ),
    place(
        "Sydney",
        "New South Wales",
        "Australia",
        "AU",
        "2000",
        -33.8688,
        151.2093,
        (
            "101.160",
            "telstra corporation",
            1221,
            "telstra corporation ltd",
            "telstra.com.au",
        ),
        false,
        "Australia/Sydney",
    ),
];

/// Sources of hostile or unusual traffic.
pub const RISKY_PLACES: &[Place] = &[
    place(
        "Moscow",
        "Moscow",
        "Russia",
        "RU",
        "101000",
        55.7558,
        37.6173,
        (
            "95.165",
            "pjsc rostelecom",
            12389,
            "pjsc rostelecom",
            "rt.ru",
        ),
        false,
        "Europe/Moscow",
    ),
    place(
        "Lagos",
        "Lagos",
        "Nigeria",
        "NG",
        "100001",
        6.5244,
        3.3792,
        (
            "105.112",
            "mtn nigeria",
            29465,
            "mtn nigeria communication limited",
            "mtnnigeria.net",
        ),
        false,
        "Africa/Lagos",
    ),
    place(
        "Ashburn",
        "Virginia",
        "United States",
        "US",
        "20149",
        39.0438,
        -77.4874,
        (
            "3.84",
            "amazon.com inc.",
            14618,
            "amazon.com, inc.",
            "amazonaws.com",
        ),
        true,
        "America/New_York",
    ),
    place(
        "Amsterdam",
        "North Holland",
        "Netherlands",
        "NL",
        "1012",
        52.374,
        4.8897,
        (
            "185.220.101",
            "tor exit node",
            208294,
            "relayon",
            "relayon.org",
        ),
        true,
        "Europe/Amsterdam",
    ),
    place(
        "São Paulo",
        "Sao Paulo",
        "Brazil",
        "BR",
        "01000",
        -23.5505,
        -46.6333,
        (
            "177.33",
            "claro s.a.",
            28573,
            "claro nxt telecomunicacoes ltda",
            "claro.com.br",
        ),
        false,
        "America/Sao_Paulo",
    ),
];

/// (raw user agent, os, browser, device)
pub const USER_AGENTS: &[(&str, &str, &str, &str)] = &[
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36", "Mac OS X", "CHROME", "Computer"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Windows 10", "CHROME", "Computer"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Windows 10", "EDGE_CHROMIUM", "Computer"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Windows 10", "FIREFOX", "Computer"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Mac OS X", "SAFARI", "Computer"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "iOS", "MOBILE_SAFARI", "Mobile"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36", "Android", "CHROME", "Mobile"),
];

/// User agents seen from credential-stuffing tools.
pub const BOT_AGENTS: &[(&str, &str, &str, &str)] = &[
    ("python-requests/2.31.0", "Unknown", "UNKNOWN", "Unknown"),
    ("curl/8.4.0", "Unknown", "UNKNOWN", "Unknown"),
    (
        "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:45.0) Gecko/20100101 Firefox/45.0",
        "Windows 7",
        "FIREFOX",
        "Computer",
    ),
];

/// Apps users sign in to (id suffix, label).
pub const APPS: &[(&str, &str)] = &[
    ("0oa1slackAPPs1d7", "Slack"),
    ("0oa1gsuiteAPPd7x", "Google Workspace"),
    ("0oa1sfdcAPP01d7x", "Salesforce.com"),
    ("0oa1awsAPP001d7x", "AWS IAM Identity Center"),
    ("0oa1zoomAPP01d7x", "Zoom"),
    ("0oa1ghubAPP01d7x", "GitHub Enterprise Cloud"),
    ("0oa1adminAPPd7xx", "Okta Admin Console"),
];

/// Admin roles that `user.account.privilege.grant` can report.
pub const ADMIN_ROLES: &[&str] = &[
    "Super administrator",
    "Organization administrator",
    "Application administrator",
    "Read only administrator",
    "Help desk administrator",
];

/// Security questions for recovery and `question` factors: (key, text).
pub const QUESTIONS: &[(&str, &str)] = &[
    ("favorite_art_piece", "What is your favorite piece of art?"),
    (
        "name_of_first_plush_toy",
        "What was the first name of your first plush toy?",
    ),
    ("first_award", "What was the first award you received?"),
    (
        "favorite_security_question",
        "What is your favorite security question?",
    ),
];
