"""fluid-scim: Fluid's SCIM 2.0 service provider and the services its admin API shares."""
