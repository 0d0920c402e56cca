"""The site file: schema, cross-checks, and the frozen `SiteConfig` everything reads."""

from edge.siteconf.issues import ConfigError, ConfigIssue
from edge.siteconf.loader import load_site, load_site_with_warnings
from edge.siteconf.model import SiteConfig

__all__ = ["ConfigError", "ConfigIssue", "SiteConfig", "load_site", "load_site_with_warnings"]
