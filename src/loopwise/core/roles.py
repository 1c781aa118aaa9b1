"""Roles and what each may do: the one access matrix every endpoint checks.

Roles are instance-wide: a Loopwise instance belongs to one team, and everyone who signs in
sees every project of that team. Project *API keys* are what is scoped to one project.
The matrix is documented in docs/access.md; a test checks that the two agree.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ANALYST = "analyst"
    SUPPORT = "support"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"  # see projects, dashboards, live events, people
    CREATE_PROJECT = "create_project"
    CHANGE_SETTINGS = "change_settings"  # project settings, rename, time zone
    MANAGE_API_KEYS = "manage_api_keys"  # project secret API keys
    MANAGE_MEMBERS = "manage_members"  # add people, change roles, deactivate
    VIEW_AUDIT = "view_audit"
    EXPORT = "export"
    DELETE_DATA = "delete_data"
    CREATE_TOKEN = "create_token"  # personal API tokens
    WORK_TICKETS = "work_tickets"
    EDIT_ANALYSES = "edit_analyses"  # saved insights, dashboards, features, cohorts


_ALL = frozenset(Permission)

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL,
    Role.ANALYST: frozenset(
        {
            Permission.READ,
            Permission.EXPORT,
            Permission.CREATE_TOKEN,
            Permission.EDIT_ANALYSES,
        }
    ),
    Role.SUPPORT: frozenset({Permission.READ, Permission.WORK_TICKETS}),
    Role.VIEWER: frozenset({Permission.READ}),
}

# Roles a role may hand out. Only an owner makes owners, so an admin cannot lock owners out.
GRANTABLE: dict[Role, frozenset[Role]] = {
    Role.OWNER: frozenset(Role),
    Role.ADMIN: frozenset(Role) - {Role.OWNER},
}


DESCRIPTIONS: dict[Permission, str] = {
    Permission.READ: "see projects and their data",
    Permission.CREATE_PROJECT: "create projects",
    Permission.CHANGE_SETTINGS: "change project settings",
    Permission.MANAGE_API_KEYS: "manage project API keys",
    Permission.MANAGE_MEMBERS: "manage people and roles",
    Permission.VIEW_AUDIT: "see the audit log",
    Permission.EXPORT: "export data",
    Permission.DELETE_DATA: "delete data",
    Permission.CREATE_TOKEN: "hold personal API tokens",
    Permission.WORK_TICKETS: "work on support tickets",
    Permission.EDIT_ANALYSES: "edit analyses and dashboards",
}


def describe(permission: Permission) -> str:
    """The permission in words, for messages and pages."""
    return DESCRIPTIONS[permission]


def allows(role: Role, permission: Permission) -> bool:
    return permission in MATRIX[role]


def can_grant(granter: Role, role: Role) -> bool:
    return role in GRANTABLE.get(granter, frozenset())
