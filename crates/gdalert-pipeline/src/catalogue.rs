//! What each Runtime Monitoring finding type means, in our own words.
//!
//! GuardDuty's event says *what* was seen; a responder at 3 a.m. also wants
//! *why it matters* and *what to look at first*. The table is keyed by the
//! exact finding type; unknown types (a type GuardDuty adds tomorrow, or a
//! non-runtime type routed here) get [`generic`], built from the type's
//! threat-purpose prefix, so an alert is never empty.

/// A MITRE ATT&CK tactic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tactic {
    pub id: &'static str,
    pub name: &'static str,
}

macro_rules! tactics {
    ($($konst:ident = $id:literal, $name:literal;)*) => {
        $(pub const $konst: Tactic = Tactic { id: $id, name: $name };)*
    };
}

/// The ATT&CK tactics the catalogue uses.
pub mod tactic {
    use super::Tactic;
    tactics! {
        EXECUTION = "TA0002", "Execution";
        PERSISTENCE = "TA0003", "Persistence";
        PRIVILEGE_ESCALATION = "TA0004", "Privilege Escalation";
        DEFENSE_EVASION = "TA0005", "Defense Evasion";
        CREDENTIAL_ACCESS = "TA0006", "Credential Access";
        DISCOVERY = "TA0007", "Discovery";
        EXFILTRATION = "TA0010", "Exfiltration";
        COMMAND_AND_CONTROL = "TA0011", "Command and Control";
        IMPACT = "TA0040", "Impact";
        INITIAL_ACCESS = "TA0001", "Initial Access";
    }
}

/// GuardDuty's default severity for a type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultSeverity {
    Fixed(f64),
    /// GuardDuty sets it per finding from context (e.g. which tool ran).
    Variable,
}

/// One finding type.
#[derive(Debug, Clone, Copy)]
pub struct FindingKind {
    pub finding_type: &'static str,
    pub default_severity: DefaultSeverity,
    pub tactic: Tactic,
    /// One line: what happened and why it matters.
    pub meaning: &'static str,
    /// First things to check, in order.
    pub triage: &'static [&'static str],
    /// GuardDuty no longer generates it (old findings still arrive on re-publication).
    pub retired: bool,
}

impl FindingKind {
    /// The threat purpose: the part of the type before `:` (e.g. `Execution`).
    pub fn threat_purpose(&self) -> &'static str {
        purpose_of(self.finding_type)
    }
}

fn purpose_of(finding_type: &str) -> &str {
    finding_type.split(':').next().unwrap_or(finding_type)
}

const HIGH: DefaultSeverity = DefaultSeverity::Fixed(8.0);
const MEDIUM: DefaultSeverity = DefaultSeverity::Fixed(5.0);
const LOW: DefaultSeverity = DefaultSeverity::Fixed(2.0);

const NET_TRIAGE: &[&str] = &[
    "Identify the process and container that made the connection or lookup.",
    "Check whether the image or a recent deployment explains the destination.",
    "If unexplained, isolate the task, pod or instance and preserve it for forensics.",
];
const EXEC_TRIAGE: &[&str] = &[
    "Look at the process lineage: which parent started it, and as which user.",
    "Compare the executable path and hash with what the image ships.",
    "If unexpected, stop the workload and rotate credentials it could reach.",
];
const ESCAPE_TRIAGE: &[&str] = &[
    "Treat the host as possibly compromised, not just the container.",
    "Check the task definition or pod spec for privileged mode, host mounts and capabilities.",
    "Cordon or drain the node (EKS) or stop the task and instance; keep evidence.",
];
const FILE_TRIAGE: &[&str] = &[
    "Read which file changed and how (write, delete, rename, link), and by which process.",
    "Compare with what the image and its startup scripts are expected to change.",
    "If nobody intended it, treat the workload as compromised: keep the file and stop the workload.",
];
const MALWARE_TRIAGE: &[&str] = &[
    "Read the threat name, the file path and its hash; look the hash up in your threat intelligence.",
    "Find how the file got there: the image, a volume, or a process at run time.",
    "Quarantine: stop the task, pod or instance, keep the volume snapshot, rebuild from a clean image.",
];
const CMD_TRIAGE: &[&str] = &[
    "Read the command line and the process lineage for intent.",
    "Confirm with the service owner whether an operator or a job ran it.",
    "If nobody did, treat the workload as compromised.",
];

macro_rules! kind {
    ($ty:literal, $sev:expr, $tactic:ident, $meaning:literal, $triage:expr) => {
        FindingKind {
            finding_type: $ty,
            default_severity: $sev,
            tactic: tactic::$tactic,
            meaning: $meaning,
            triage: $triage,
            retired: false,
        }
    };
}

/// Every Runtime Monitoring finding type we know of.
pub static RUNTIME_FINDING_KINDS: &[FindingKind] = &[
    kind!("CryptoCurrency:Runtime/BitcoinTool.B", HIGH, IMPACT,
        "A workload talks to an IP address tied to cryptocurrency mining or trading.", NET_TRIAGE),
    kind!("CryptoCurrency:Runtime/BitcoinTool.B!DNS", HIGH, IMPACT,
        "A workload resolved a domain tied to cryptocurrency mining or trading.", NET_TRIAGE),
    kind!("Backdoor:Runtime/C&CActivity.B", HIGH, COMMAND_AND_CONTROL,
        "A workload talks to a known command-and-control server: it may be remotely controlled.", NET_TRIAGE),
    kind!("Backdoor:Runtime/C&CActivity.B!DNS", HIGH, COMMAND_AND_CONTROL,
        "A workload resolved a known command-and-control domain: it may be remotely controlled.", NET_TRIAGE),
    kind!("UnauthorizedAccess:Runtime/TorRelay", HIGH, COMMAND_AND_CONTROL,
        "A workload acts as a Tor relay, forwarding anonymised traffic for others.", NET_TRIAGE),
    kind!("UnauthorizedAccess:Runtime/TorClient", HIGH, COMMAND_AND_CONTROL,
        "A workload connects to the Tor network, which hides where its traffic goes.", NET_TRIAGE),
    kind!("Trojan:Runtime/BlackholeTraffic", MEDIUM, COMMAND_AND_CONTROL,
        "A workload tries to reach an address that is sinkholed because it served malware.", NET_TRIAGE),
    kind!("Trojan:Runtime/BlackholeTraffic!DNS", MEDIUM, COMMAND_AND_CONTROL,
        "A workload resolved a domain that is sinkholed because it served malware.", NET_TRIAGE),
    kind!("Trojan:Runtime/DropPoint", MEDIUM, EXFILTRATION,
        "A workload talks to a server known to collect data stolen by malware.", NET_TRIAGE),
    kind!("Trojan:Runtime/DropPoint!DNS", MEDIUM, EXFILTRATION,
        "A workload resolved a domain known to collect data stolen by malware.", NET_TRIAGE),
    kind!("Trojan:Runtime/DGADomainRequest.C!DNS", HIGH, COMMAND_AND_CONTROL,
        "A workload resolved algorithmically generated domains, typical of malware looking for its controller.", NET_TRIAGE),
    kind!("Trojan:Runtime/DriveBySourceTraffic!DNS", MEDIUM, INITIAL_ACCESS,
        "A workload resolved a domain known for drive-by downloads of malware.", NET_TRIAGE),
    kind!("Trojan:Runtime/PhishingDomainRequest!DNS", HIGH, CREDENTIAL_ACCESS,
        "A workload resolved a domain used for phishing.", NET_TRIAGE),
    kind!("Impact:Runtime/AbusedDomainRequest.Reputation", MEDIUM, IMPACT,
        "A workload resolved a low-reputation domain often abused by attackers.", NET_TRIAGE),
    kind!("Impact:Runtime/BitcoinDomainRequest.Reputation", HIGH, IMPACT,
        "A workload resolved a low-reputation domain tied to cryptocurrency activity.", NET_TRIAGE),
    kind!("Impact:Runtime/MaliciousDomainRequest.Reputation", HIGH, IMPACT,
        "A workload resolved a low-reputation domain associated with known threats.", NET_TRIAGE),
    kind!("Impact:Runtime/SuspiciousDomainRequest.Reputation", LOW, IMPACT,
        "A workload resolved a rare, low-reputation domain that may be malicious.", NET_TRIAGE),
    kind!("UnauthorizedAccess:Runtime/MetadataDNSRebind", HIGH, CREDENTIAL_ACCESS,
        "A workload resolved a domain that points at the instance metadata service: a way to steal instance credentials.", NET_TRIAGE),
    kind!("Execution:Runtime/NewBinaryExecuted", MEDIUM, EXECUTION,
        "A binary that was not in the image was created or modified in the container, then run.", EXEC_TRIAGE),
    kind!("Execution:Runtime/NewLibraryLoaded", MEDIUM, EXECUTION,
        "A library that was not in the image was created or modified in the container, then loaded.", EXEC_TRIAGE),
    kind!("Execution:Runtime/ReverseShell", HIGH, EXECUTION,
        "A process opened a reverse shell: someone outside may have interactive control of the workload.", EXEC_TRIAGE),
    kind!("Execution:Runtime/SuspiciousTool", DefaultSeverity::Variable, EXECUTION,
        "A tool often used for attacks (scanner, exploit kit, credential dumper) ran in the workload.", EXEC_TRIAGE),
    kind!("Execution:Runtime/SuspiciousCommand", DefaultSeverity::Variable, EXECUTION,
        "A command that matches attacker behaviour ran in the workload.", CMD_TRIAGE),
    kind!("Execution:Runtime/MaliciousFileExecuted", HIGH, EXECUTION,
        "A file that GuardDuty knows to be malicious was executed.", EXEC_TRIAGE),
    kind!("Execution:Runtime/SuspiciousShellCreated", LOW, EXECUTION,
        "A network service or job spawned an interactive shell.", CMD_TRIAGE),
    kind!("PrivilegeEscalation:Runtime/DockerSocketAccessed", MEDIUM, PRIVILEGE_ESCALATION,
        "A process in a container talks to the Docker socket, which controls every container on the host.", ESCAPE_TRIAGE),
    kind!("PrivilegeEscalation:Runtime/RuncContainerEscape", HIGH, PRIVILEGE_ESCALATION,
        "A container tried to overwrite the runc binary: a known way to break out to the host.", ESCAPE_TRIAGE),
    kind!("PrivilegeEscalation:Runtime/CGroupsReleaseAgentModified", HIGH, PRIVILEGE_ESCALATION,
        "A container changed a cgroup release agent: a known way to run code on the host.", ESCAPE_TRIAGE),
    kind!("PrivilegeEscalation:Runtime/ContainerMountsHostDirectory", HIGH, PRIVILEGE_ESCALATION,
        "A container mounted a directory of the host, giving it the host's files.", ESCAPE_TRIAGE),
    kind!("PrivilegeEscalation:Runtime/UserfaultfdUsage", MEDIUM, PRIVILEGE_ESCALATION,
        "A process used userfaultfd, a kernel feature often abused by kernel exploits.", ESCAPE_TRIAGE),
    kind!("PrivilegeEscalation:Runtime/ElevationToRoot", MEDIUM, PRIVILEGE_ESCALATION,
        "A process gained root through a binary that elevates privileges (setuid and the like).", EXEC_TRIAGE),
    kind!("PrivilegeEscalation:Runtime/SuspiciousCommand", MEDIUM, PRIVILEGE_ESCALATION,
        "A command that tries to gain higher privileges ran in the workload.", CMD_TRIAGE),
    kind!("DefenseEvasion:Runtime/ProcessInjection.Proc", HIGH, DEFENSE_EVASION,
        "A process wrote into another process's memory through /proc: code injection.", EXEC_TRIAGE),
    kind!("DefenseEvasion:Runtime/ProcessInjection.Ptrace", HIGH, DEFENSE_EVASION,
        "A process used ptrace to change another process: code injection.", EXEC_TRIAGE),
    kind!("DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite", HIGH, DEFENSE_EVASION,
        "A process wrote directly into another process's virtual memory: code injection.", EXEC_TRIAGE),
    kind!("DefenseEvasion:Runtime/FilelessExecution", HIGH, DEFENSE_EVASION,
        "A process runs from memory with no file on disk, a way to leave no trace.", EXEC_TRIAGE),
    kind!("DefenseEvasion:Runtime/SuspiciousCommand", HIGH, DEFENSE_EVASION,
        "A command that disables defences or erases traces ran in the workload.", CMD_TRIAGE),
    kind!("DefenseEvasion:Runtime/PtraceAntiDebugging", LOW, DEFENSE_EVASION,
        "A process protects itself from debugging, as malware often does.", EXEC_TRIAGE),
    kind!("DefenseEvasion:Runtime/KernelModuleLoaded", MEDIUM, DEFENSE_EVASION,
        "A kernel module was loaded from a container or unusual process: a rootkit risk.", ESCAPE_TRIAGE),
    kind!("Impact:Runtime/CryptoMinerExecuted", HIGH, IMPACT,
        "A cryptocurrency miner is running on your compute.", EXEC_TRIAGE),
    kind!("Discovery:Runtime/SuspiciousCommand", LOW, DISCOVERY,
        "A command that surveys the system or network, as attackers do after getting in, ran in the workload.", CMD_TRIAGE),
    kind!("Persistence:Runtime/SuspiciousCommand", MEDIUM, PERSISTENCE,
        "A command that sets up a way back in (cron job, service, startup file) ran in the workload.", CMD_TRIAGE),
    kind!("CredentialAccess:Runtime/MemoryDumpCreated", HIGH, CREDENTIAL_ACCESS,
        "A process dumped memory of another process, which can expose secrets and keys.", EXEC_TRIAGE),
    kind!("Persistence:Runtime/SensitiveFileModified", DefaultSeverity::Variable, PERSISTENCE,
        "A file that controls what runs at start or login (cron, systemd, shell profiles, SSH keys) was modified: a way back in.", FILE_TRIAGE),
    kind!("PrivilegeEscalation:Runtime/SensitiveFileModified", DefaultSeverity::Variable, PRIVILEGE_ESCALATION,
        "A file that grants privileges (sudoers, passwd, shadow, setuid binaries) was modified.", FILE_TRIAGE),
    kind!("DefenseEvasion:Runtime/SensitiveFileModified", DefaultSeverity::Variable, DEFENSE_EVASION,
        "A file that records or defends the system (logs, audit rules, security tools' configuration) was modified.", FILE_TRIAGE),
];

/// Malware Protection types GuardDuty raises for containers and their hosts
/// (a scan GuardDuty started, often after a runtime finding). Each scan makes
/// a new finding id, so gdalert dedupes them by resource and threat
/// ([`crate::alert::malware_key`]), not by finding id.
pub static MALWARE_FINDING_KINDS: &[FindingKind] = &[
    kind!("Execution:EC2/MaliciousFile", HIGH, EXECUTION,
        "A malware scan of the instance's volumes found a known malicious file.", MALWARE_TRIAGE),
    kind!("Execution:ECS/MaliciousFile", HIGH, EXECUTION,
        "A malware scan of an ECS cluster's volumes found a known malicious file.", MALWARE_TRIAGE),
    kind!("Execution:Kubernetes/MaliciousFile", HIGH, EXECUTION,
        "A malware scan of an EKS node's volumes found a known malicious file in a pod's files.", MALWARE_TRIAGE),
    kind!("Execution:Container/MaliciousFile", HIGH, EXECUTION,
        "A malware scan found a known malicious file in a standalone container's files.", MALWARE_TRIAGE),
    kind!("Execution:EC2/SuspiciousFile", DefaultSeverity::Variable, EXECUTION,
        "A malware scan of the instance's volumes found a suspicious file (a hack tool or a file that behaves like malware).", MALWARE_TRIAGE),
    kind!("Execution:ECS/SuspiciousFile", DefaultSeverity::Variable, EXECUTION,
        "A malware scan of an ECS cluster's volumes found a suspicious file (a hack tool or a file that behaves like malware).", MALWARE_TRIAGE),
    kind!("Execution:Kubernetes/SuspiciousFile", DefaultSeverity::Variable, EXECUTION,
        "A malware scan of an EKS node's volumes found a suspicious file in a pod's files.", MALWARE_TRIAGE),
    kind!("Execution:Container/SuspiciousFile", DefaultSeverity::Variable, EXECUTION,
        "A malware scan found a suspicious file in a standalone container's files.", MALWARE_TRIAGE),
];

/// Whether `finding_type` is a Malware Protection type (deduped by resource and threat).
pub fn is_malware(finding_type: &str) -> bool {
    MALWARE_FINDING_KINDS
        .iter()
        .any(|kind| kind.finding_type == finding_type)
}

/// The catalogue entry for `finding_type`, if it is a known runtime or
/// Malware Protection type.
pub fn lookup(finding_type: &str) -> Option<&'static FindingKind> {
    RUNTIME_FINDING_KINDS
        .iter()
        .chain(MALWARE_FINDING_KINDS)
        .find(|kind| kind.finding_type == finding_type)
}

const SEQUENCE_TRIAGE: &[&str] = &[
    "Read the signals in order: they are the attack's steps, earliest first.",
    "Contain what the resources list names (stop the tasks or pods, isolate the instances) and keep evidence.",
    "Block the network endpoints and rotate every credential the actors could reach.",
];

/// What we can say about a type we don't know, from its threat purpose.
#[derive(Debug, Clone, Copy)]
pub struct GenericKind {
    pub tactic: Option<Tactic>,
    pub meaning: &'static str,
    pub triage: &'static [&'static str],
}

/// A useful description for any finding type, known or not.
pub fn generic(finding_type: &str) -> GenericKind {
    if purpose_of(finding_type) == "AttackSequence" {
        return GenericKind {
            tactic: None,
            meaning: "GuardDuty correlated several signals into one attack in progress.",
            triage: SEQUENCE_TRIAGE,
        };
    }
    let (tactic, meaning) = match purpose_of(finding_type) {
        "Backdoor" => (
            Some(tactic::COMMAND_AND_CONTROL),
            "GuardDuty saw signs that the resource is remotely controlled by an attacker.",
        ),
        "CryptoCurrency" => (
            Some(tactic::IMPACT),
            "GuardDuty saw cryptocurrency activity on the resource.",
        ),
        "Trojan" => (
            Some(tactic::COMMAND_AND_CONTROL),
            "GuardDuty saw traffic typical of a trojan on the resource.",
        ),
        "Execution" => (
            Some(tactic::EXECUTION),
            "GuardDuty saw unexpected code run on the resource.",
        ),
        "PrivilegeEscalation" => (
            Some(tactic::PRIVILEGE_ESCALATION),
            "GuardDuty saw an attempt to gain higher privileges.",
        ),
        "DefenseEvasion" | "Stealth" => (
            Some(tactic::DEFENSE_EVASION),
            "GuardDuty saw an attempt to hide activity or disable defences.",
        ),
        "Discovery" | "Recon" => (
            Some(tactic::DISCOVERY),
            "GuardDuty saw someone survey the resource or its network.",
        ),
        "Persistence" => (
            Some(tactic::PERSISTENCE),
            "GuardDuty saw an attempt to keep access to the resource.",
        ),
        "CredentialAccess" => (
            Some(tactic::CREDENTIAL_ACCESS),
            "GuardDuty saw an attempt to steal credentials.",
        ),
        "Exfiltration" => (
            Some(tactic::EXFILTRATION),
            "GuardDuty saw data possibly leaving the account.",
        ),
        "Impact" => (
            Some(tactic::IMPACT),
            "GuardDuty saw activity that harms the resource or abuses it.",
        ),
        "InitialAccess" => (
            Some(tactic::INITIAL_ACCESS),
            "GuardDuty saw a possible first foothold in the account.",
        ),
        "UnauthorizedAccess" => (None, "GuardDuty saw access that should not be happening."),
        "Policy" => (
            None,
            "GuardDuty saw a setting or action that goes against good practice.",
        ),
        _ => (
            None,
            "GuardDuty reported a finding of a type gdalert does not know yet.",
        ),
    };
    GenericKind {
        tactic,
        meaning,
        triage: &[
            "Open the finding in the GuardDuty console and read its details.",
            "Identify the resource's owner and ask whether the activity is expected.",
            "If it is not, contain the resource and preserve evidence.",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_type_is_listed_once_and_is_a_runtime_type() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in RUNTIME_FINDING_KINDS {
            assert!(
                kind.finding_type.contains(":Runtime/"),
                "{}",
                kind.finding_type
            );
            assert!(
                seen.insert(kind.finding_type),
                "duplicate {}",
                kind.finding_type
            );
            assert!(!kind.triage.is_empty());
        }
        assert!(
            RUNTIME_FINDING_KINDS.len() >= 40,
            "{}",
            RUNTIME_FINDING_KINDS.len()
        );
    }

    #[test]
    fn unknown_types_get_a_purpose_based_description() {
        assert!(lookup("Execution:Runtime/SomethingNew").is_none());
        let described = generic("Execution:Runtime/SomethingNew");
        assert_eq!(described.tactic, Some(tactic::EXECUTION));
        assert!(generic("Nonsense").meaning.contains("does not know"));
    }
}
