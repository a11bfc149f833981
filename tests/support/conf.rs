//! keepalived.conf text for one VRRP instance on eth0, plus the RFC timer arithmetic the tests
//! need to choose their deadlines.

use std::time::Duration;

/// The virtual IP every test elects for.
pub const VIP: &str = "192.0.2.100";
pub const VIP_CIDR: &str = "192.0.2.100/24";
pub const VRID: u8 = 51;
pub const INSTANCE: &str = "VI_1";

/// One `vrrp_instance VI_1` on eth0 and its `global_defs`.
#[derive(Debug, Clone)]
pub struct Conf {
    pub version: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2 needs whole seconds).
    pub advert_cs: u32,
    pub vips: Vec<String>,
    /// Extra `vrrp_instance` lines, verbatim (notify scripts, nopreempt, vip_lease ...).
    pub instance_lines: Vec<String>,
}

impl Conf {
    /// VRRPv3, 0.1 s adverts: fast elections for tests not about timing or v2.
    pub fn v3(priority: u8) -> Conf {
        Conf {
            version: 3,
            priority,
            advert_cs: 10,
            vips: vec![VIP_CIDR.to_string()],
            instance_lines: Vec::new(),
        }
    }

    /// VRRPv2 with 1 s adverts (v2 cannot go faster).
    pub fn v2(priority: u8) -> Conf {
        Conf {
            version: 2,
            advert_cs: 100,
            ..Conf::v3(priority)
        }
    }

    /// Adds one line to the instance block.
    pub fn line(mut self, line: impl Into<String>) -> Conf {
        self.instance_lines.push(line.into());
        self
    }

    pub fn vips(mut self, vips: &[&str]) -> Conf {
        self.vips = vips.iter().map(|v| (*v).to_string()).collect();
        self
    }

    pub fn render(&self) -> String {
        let advert = if self.advert_cs % 100 == 0 {
            format!("{}", self.advert_cs / 100)
        } else {
            format!("{}.{:02}", self.advert_cs / 100, self.advert_cs % 100)
                .trim_end_matches('0')
                .to_string()
        };
        let mut text = format!(
            "global_defs {{\n    vrrp_version {}\n    vrrp_garp_master_delay 1\n}}\n\n\
             vrrp_instance {INSTANCE} {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {VRID}\n    priority {}\n    advert_int {advert}\n    \
             virtual_ipaddress {{\n",
            self.version, self.priority
        );
        for vip in &self.vips {
            text.push_str(&format!("        {vip}\n"));
        }
        text.push_str("    }\n");
        for line in &self.instance_lines {
            text.push_str(&format!("    {line}\n"));
        }
        text.push_str("}\n");
        text
    }

    pub fn advert_interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_cs) * 10)
    }

    /// Skew_Time: (256 - priority) * interval / 256 (v3, RFC 9568); (256 - priority) / 256 s (v2).
    pub fn skew_time(&self) -> Duration {
        let unit = if self.version == 2 {
            Duration::from_secs(1)
        } else {
            self.advert_interval()
        };
        unit * (256 - u32::from(self.priority)) / 256
    }

    /// Master_Down_Interval = 3 * interval + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        self.advert_interval() * 3 + self.skew_time()
    }

    /// keepvip's default VIP lease when `vip_lease` is unset: ceil(Master_Down_Interval) + 2 s.
    pub fn default_lease(&self) -> Duration {
        let mdi = self.master_down_interval();
        let whole = mdi.as_secs() + u64::from(mdi.subsec_nanos() > 0);
        Duration::from_secs(whole + 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_brief_example_shape() {
        let text = Conf::v3(200).line("nopreempt").render();
        assert!(text.contains("vrrp_version 3\n"), "{text}");
        assert!(text.contains("    advert_int 0.1\n"), "{text}");
        assert!(text.contains("    priority 200\n"), "{text}");
        assert!(text.contains("        192.0.2.100/24\n"), "{text}");
        assert!(text.contains("    nopreempt\n}"), "{text}");
        assert!(Conf::v2(100).render().contains("    advert_int 1\n"));
        let mut odd = Conf::v3(100);
        odd.advert_cs = 25;
        assert!(odd.render().contains("advert_int 0.25\n"));
    }

    #[test]
    fn timer_arithmetic_follows_the_rfcs() {
        assert_eq!(Conf::v2(100).skew_time(), Duration::from_secs(156) / 256);
        assert_eq!(
            Conf::v2(100).master_down_interval(),
            Duration::from_secs(3) + Duration::from_secs(156) / 256
        );
        assert_eq!(
            Conf::v3(200).skew_time(),
            Duration::from_millis(100) * 56 / 256
        );
        assert_eq!(Conf::v3(200).default_lease(), Duration::from_secs(3));
        assert_eq!(Conf::v2(200).default_lease(), Duration::from_secs(6));
    }
}
