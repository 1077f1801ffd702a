"""Sign-in with the hospital's accounts: LDAP (ldap3) behind the ordinary login form and the
token endpoint, OpenID Connect (Authlib) through /login/oidc. Directory users are provisioned
on their first sign-in, their role follows their groups or claims on every sign-in
(BIOBANK_SSO_ROLE_MAP), and local accounts keep working."""
