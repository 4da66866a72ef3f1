//! `linux_capabilities` from `.ko.yaml` (cap_from_text syntax: `net_bind_service chown`,
//! `bpf,perfmon,net_admin=ep`) turned into the `security.capability` xattr ko stores on the
//! binary (`vfs_ns_cap_data` revision 2, little-endian). Depends on nothing else in rko.

const NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];
const REVISION_2: u32 = 0x0200_0000;
const FLAG_EFFECTIVE: u32 = 0x0000_0001;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CapabilityError {
    #[error("unknown Linux capability `{0}` in `linux_capabilities` (e.g. `net_bind_service`, `cap_chown`)")]
    Unknown(String),
    #[error("invalid capability clause `{0}` in `linux_capabilities`: expected `name[,name...][=+-][eip]`")]
    Syntax(String),
}

/// Parse capability clauses into the xattr bytes; bare names mean `=p` like ko. `None` when the
/// list is empty.
pub fn xattr(clauses: &[String]) -> Result<Option<Vec<u8>>, CapabilityError> {
    let (mut permitted, mut inheritable, mut effective) = (0u64, 0u64, false);
    let mut any = false;
    for clause in clauses.iter().flat_map(|clause| clause.split_whitespace()) {
        any = true;
        let split = clause.find(['=', '+', '-']).unwrap_or(clause.len());
        let (names, actions) = clause.split_at(split);
        let mut mask = 0u64;
        for name in names.split(',') {
            mask |= capability_mask(name)?;
        }
        if actions.is_empty() {
            permitted |= mask;
            continue;
        }
        let mut chars = actions.chars().peekable();
        while let Some(operator) = chars.next() {
            let mut flags = String::new();
            while let Some(flag) = chars.next_if(|c| matches!(c, 'e' | 'i' | 'p')) {
                flags.push(flag);
            }
            if operator == '=' {
                permitted &= !mask;
                inheritable &= !mask;
            }
            let add = matches!(operator, '=' | '+');
            if !matches!(operator, '=' | '+' | '-') || (operator != '=' && flags.is_empty()) {
                return Err(CapabilityError::Syntax(clause.to_owned()));
            }
            for flag in flags.chars() {
                let set = match flag {
                    'p' => &mut permitted,
                    'i' => &mut inheritable,
                    _ => {
                        effective = add;
                        continue;
                    }
                };
                if add { *set |= mask } else { *set &= !mask }
            }
        }
    }
    if !any {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(20);
    bytes.extend((REVISION_2 | if effective { FLAG_EFFECTIVE } else { 0 }).to_le_bytes());
    bytes.extend((permitted as u32).to_le_bytes());
    bytes.extend((inheritable as u32).to_le_bytes());
    bytes.extend(((permitted >> 32) as u32).to_le_bytes());
    bytes.extend(((inheritable >> 32) as u32).to_le_bytes());
    Ok(Some(bytes))
}

fn capability_mask(name: &str) -> Result<u64, CapabilityError> {
    let lower = name.trim().to_ascii_lowercase();
    let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
    if bare == "all" {
        return Ok((1u64 << NAMES.len()) - 1);
    }
    NAMES
        .iter()
        .position(|known| *known == bare)
        .map(|bit| 1u64 << bit)
        .ok_or_else(|| CapabilityError::Unknown(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_are_permitted_only() {
        let bytes = xattr(&["net_bind_service chown".into()]).unwrap().unwrap();
        assert_eq!(bytes, [0, 0, 0, 2, 0x01, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn effective_and_high_bits() {
        let bytes = xattr(&["cap_bpf,perfmon,net_admin=ep".into()]).unwrap().unwrap();
        assert_eq!(&bytes[0..4], &[1, 0, 0, 2]);
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 1 << 12);
        assert_eq!(u32::from_le_bytes(bytes[12..16].try_into().unwrap()), (1 << (39 - 32)) | (1 << (38 - 32)));
    }

    #[test]
    fn rejects_unknown_names_and_bad_syntax() {
        assert_eq!(xattr(&["net_bind".into()]), Err(CapabilityError::Unknown("net_bind".into())));
        assert!(matches!(xattr(&["chown+".into()]), Err(CapabilityError::Syntax(_))));
        assert_eq!(xattr(&[]), Ok(None));
    }
}
