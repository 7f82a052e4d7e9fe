//! Country codes of API 2.0 `createorder` (§15.2): an ISO 3166-1 alpha-2 code is stored as the
//! country's English short name.

#![warn(missing_docs)]

use crate::value::trim_ws;

/// The stored country for a code as received: the English short name of ISO 3166-1 without a
/// trailing ` (the)` (`US` → `United States of America`), matched ASCII-case-insensitively and
/// ignoring surrounding whitespace; a code that names no country is kept as given.
pub fn country_for_code(code: &str) -> String {
    country_name(code).map_or_else(|| code.to_owned(), str::to_owned)
}

/// The English short name of the country with alpha-2 `code` (ASCII case ignored, surrounding
/// whitespace ignored), without a trailing ` (the)`; `None` for a code ISO 3166-1 does not
/// assign.
pub fn country_name(code: &str) -> Option<&'static str> {
    let code = trim_ws(code.as_bytes());
    let [a, b] = code else {
        return None;
    };
    let key = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
    let index = ISO_3166_1
        .binary_search_by(|(entry, _)| entry.as_bytes().cmp(&key[..]))
        .ok()?;
    let name = ISO_3166_1[index].1;
    Some(name.strip_suffix(" (the)").unwrap_or(name))
}

/// The alpha-2 codes and English short names of ISO 3166-1, as ISO publishes them (the
/// `(the)` marks included, which the stored form drops), sorted by code.
const ISO_3166_1: [(&str, &str); 249] = [
    ("AD", "Andorra"),
    ("AE", "United Arab Emirates (the)"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AQ", "Antarctica"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland Islands"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei Darussalam"),
    ("BO", "Bolivia (Plurinational State of)"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "Brazil"),
    ("BS", "Bahamas (the)"),
    ("BT", "Bhutan"),
    ("BV", "Bouvet Island"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CC", "Cocos (Keeling) Islands (the)"),
    ("CD", "Congo (the Democratic Republic of the)"),
    ("CF", "Central African Republic (the)"),
    ("CG", "Congo (the)"),
    ("CH", "Switzerland"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "Cook Islands (the)"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cabo Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic (the)"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "Falkland Islands (the) [Malvinas]"),
    ("FM", "Micronesia (Federated States of)"),
    ("FO", "Faroe Islands (the)"),
    ("FR", "France"),
    ("GA", "Gabon"),
    (
        "GB",
        "United Kingdom of Great Britain and Northern Ireland (the)",
    ),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "Gambia (the)"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HM", "Heard Island and McDonald Islands"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "Isle of Man"),
    ("IN", "India"),
    ("IO", "British Indian Ocean Territory (the)"),
    ("IQ", "Iraq"),
    ("IR", "Iran (Islamic Republic of)"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "Comoros (the)"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "Korea (the Democratic People's Republic of)"),
    ("KR", "Korea (the Republic of)"),
    ("KW", "Kuwait"),
    ("KY", "Cayman Islands (the)"),
    ("KZ", "Kazakhstan"),
    ("LA", "Lao People's Democratic Republic (the)"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova (the Republic of)"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin (French part)"),
    ("MG", "Madagascar"),
    ("MH", "Marshall Islands (the)"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MP", "Northern Mariana Islands (the)"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger (the)"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "Netherlands (the)"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines (the)"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine, State of"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russian Federation (the)"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan (the)"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "Sao Tome and Principe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SY", "Syrian Arab Republic (the)"),
    ("SZ", "Eswatini"),
    ("TC", "Turks and Caicos Islands (the)"),
    ("TD", "Chad"),
    ("TF", "French Southern Territories (the)"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Türkiye"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan (Province of China)"),
    ("TZ", "Tanzania, the United Republic of"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("UM", "United States Minor Outlying Islands (the)"),
    ("US", "United States of America (the)"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Holy See (the)"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela (Bolivarian Republic of)"),
    ("VG", "Virgin Islands (British)"),
    ("VI", "Virgin Islands (U.S.)"),
    ("VN", "Viet Nam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_without_a_trailing_the() {
        for (code, name) in [
            ("US", "United States of America"),
            ("RU", "Russian Federation"),
            ("DE", "Germany"),
            ("GB", "United Kingdom of Great Britain and Northern Ireland"),
            ("BO", "Bolivia (Plurinational State of)"),
            ("NL", "Netherlands"),
            ("KR", "Korea (the Republic of)"),
            ("CD", "Congo (the Democratic Republic of the)"),
            ("FK", "Falkland Islands (the) [Malvinas]"),
            ("CI", "Côte d'Ivoire"),
            ("AX", "Åland Islands"),
        ] {
            assert_eq!(country_name(code), Some(name), "{code}");
        }
    }

    #[test]
    fn codes_match_case_insensitively_and_unknown_ones_stay() {
        assert_eq!(country_for_code("us"), "United States of America");
        assert_eq!(country_for_code("rU"), "Russian Federation");
        assert_eq!(country_for_code(" de "), "Germany");
        for unknown in ["XX", "USA", "U", "", "Germany", "ру"] {
            assert_eq!(country_name(unknown), None, "{unknown}");
            assert_eq!(country_for_code(unknown), unknown);
        }
    }

    #[test]
    fn the_table_is_sorted_and_complete() {
        assert!(ISO_3166_1.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ISO_3166_1
            .iter()
            .all(|(code, _)| code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())));
        for (code, _) in ISO_3166_1 {
            assert!(country_name(code).is_some(), "{code}");
        }
    }
}
