//! Where two TOML configurations differ, as the dotted key a user can look up in either file.

/// The first dotted key (in sorted key order) at which two TOML documents differ, or `None` when
/// they are equal. Text that does not parse as TOML is compared as a whole ("the config").
pub fn first_difference(a: &str, b: &str) -> Option<String> {
    fn walk(a: &toml::Value, b: &toml::Value, path: &str) -> Option<String> {
        match (a, b) {
            (toml::Value::Table(x), toml::Value::Table(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().find_map(|k| {
                    let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    match (x.get(k), y.get(k)) {
                        (Some(v), Some(w)) => walk(v, w, &sub),
                        _ => Some(sub),
                    }
                })
            }
            _ if a == b => None,
            _ => Some(if path.is_empty() { "the config".to_string() } else { path.to_string() }),
        }
    }
    match (a.parse::<toml::Value>(), b.parse::<toml::Value>()) {
        (Ok(x), Ok(y)) => walk(&x, &y, ""),
        _ => (a != b).then(|| "the config".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::first_difference;

    #[test]
    fn names_the_first_differing_dotted_key() {
        assert_eq!(first_difference("a = 1\n[t]\nx = 2\n", "a = 1\n[t]\nx = 2\n"), None);
        assert_eq!(first_difference("a = 1\n[t]\nx = 2\n", "a = 1\n[t]\nx = 3\n").as_deref(), Some("t.x"));
        assert_eq!(first_difference("a = 1\n", "a = 1\nb = 2\n").as_deref(), Some("b"));
        assert_eq!(first_difference("not toml [", "a = 1").as_deref(), Some("the config"));
    }
}
