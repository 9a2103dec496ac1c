"""The names of the EnergyTag GC Registry API that gridledger's export must use (a fixture, no tests).

Source: "Energy Tag API Specification", version 2.0 (to accompany Version 2 of the EnergyTag
GC Scheme Standard), published by Future Energy Associates as the OpenAPI document
gc_registry/static/openapi.yaml of github.com/Future-Energy-Associates/granular_certificate_registry
(commit 111858cfa3912cf23e0680e641cdf7892ea6b26c, December 2024): the properties and
`required` lists of its schemas below. The document types certificate_bundle_status and the
action type as plain strings; their values are the enums CertificateStatus and
CertificateActionType of gc_registry/core/models/base.py at the same commit, and
account_id / is_storage / device_id of a bundle are from GranularCertificateBundleRead in
gc_registry/certificate/schemas.py there (the OpenAPI document's bundle lacks them: its
"id" appears twice in `required`, the device's id renamed with the bundle's).
Only the names are recorded here (they are the interface); nothing else is copied.
"""

from __future__ import annotations

__all__ = [
    "ACTION_TYPES",
    "BUNDLE_FIELDS",
    "BUNDLE_REQUIRED",
    "CANCELLATION_FIELDS",
    "CERTIFICATE_STATUSES",
    "DEVICE_TECHNOLOGY_TYPES",
    "ENERGY_CARRIERS",
    "ENERGY_SOURCES",
    "QUERY_RESPONSE_FIELDS",
    "QUERY_RESPONSE_REQUIRED",
    "SCR_FIELDS",
    "SCR_REQUIRED",
    "SDR_FIELDS",
    "SDR_REQUIRED",
    "SPEC_VERSION",
    "STORAGE_QUERY_FIELDS",
]

SPEC_VERSION = "2.0"

CERTIFICATE_STATUSES = frozenset({"Active", "Cancelled", "Claimed", "Expired", "Withdrawn", "Locked", "Reserved"})
ACTION_TYPES = frozenset(
    {"transfer", "recurring_transfer", "cancel", "recurring_cancel", "claim", "recurring_claim", "withdraw", "lock",
     "reserve"}
)  # fmt: skip
ENERGY_CARRIERS = frozenset({"electricity", "natural_gas", "hydrogen", "heat", "other"})
ENERGY_SOURCES = frozenset(
    {"solar_pv", "wind", "hydro", "biomass", "nuclear", "electrolysis", "geothermal", "battery_storage", "chp",
     "other"}
)  # fmt: skip
DEVICE_TECHNOLOGY_TYPES = frozenset(
    {"solar_pv", "wind_turbine", "hydro", "battery_storage", "ev_charger", "chp", "other"}
)

# GranularCertificateBundle (+ account_id, is_storage, device_id of GranularCertificateBundleRead)
BUNDLE_FIELDS = frozenset(
    {
        "bundle_quantity", "certificate_bundle_id_range_end", "certificate_bundle_id_range_start",
        "certificate_bundle_status", "connected_grid_identification", "country_of_issuance", "device_capacity",
        "device_location", "device_name", "device_production_start_date", "device_technology_type", "device_type",
        "discharging_end_datetime", "discharging_start_datetime", "dissemination_level",
        "emissions_factor_production_device", "emissions_factor_source", "energy_carrier", "energy_source",
        "expiry_datestamp", "face_value", "id", "issuance_datestamp", "issuance_id",
        "issuance_post_energy_carrier_conversion", "issuance_purpose", "issue_market_zone", "issuing_body",
        "legal_status", "production_ending_interval", "production_starting_interval", "quality_scheme_reference",
        "registry_configuration", "sdr_allocation_id", "storage_device_location", "storage_efficiency_factor",
        "storage_id", "support_received", "account_id", "is_storage", "device_id",
    }
)  # fmt: skip
BUNDLE_REQUIRED = frozenset(
    {
        "bundle_quantity", "certificate_bundle_id_range_end", "certificate_bundle_id_range_start",
        "certificate_bundle_status", "connected_grid_identification", "country_of_issuance", "device_capacity",
        "device_location", "device_name", "device_production_start_date", "device_technology_type", "device_type",
        "energy_carrier", "energy_source", "expiry_datestamp", "face_value", "id", "issuance_datestamp",
        "issuance_post_energy_carrier_conversion", "issue_market_zone", "issuing_body", "production_ending_interval",
        "production_starting_interval", "registry_configuration",
    }
)  # fmt: skip
CANCELLATION_FIELDS = frozenset(
    {
        "action_completed_datetime", "action_id", "action_request_datetime", "beneficiary", "certificate_bundle_status",
        "certificate_period_end", "certificate_period_start", "certificate_quantity", "energy_source", "id",
        "source_certificate_certificate_bundle_id_range_end", "source_certificate_certificate_bundle_id_range_start",
        "source_certificate_issuance_id", "source_id", "sparse_filter_list",
    }
)  # fmt: skip
QUERY_RESPONSE_FIELDS = frozenset(
    {
        "action_completed_datetime", "action_request_datetime", "action_response_status", "certificate_bundle_status",
        "certificate_period_end", "certificate_period_start", "certificate_quantity", "energy_source",
        "filtered_certificate_bundles", "id", "source_certificate_certificate_bundle_id_range_end",
        "source_certificate_certificate_bundle_id_range_start", "source_certificate_issuance_id", "source_id",
        "sparse_filter_list",
    }
)  # fmt: skip
QUERY_RESPONSE_REQUIRED = frozenset({"action_response_status", "source_id"})
SCR_FIELDS = frozenset(
    {
        "charging_end_datetime", "charging_energy", "charging_energy_source", "charging_start_datetime",
        "gc_issuance_id", "granular_certificate_certificate_bundle_id_range_end",
        "granular_certificate_certificate_bundle_id_range_start", "id", "scr_allocation_id",
        "scr_geographic_matching_method", "sdr_allocation_id",
    }
)  # fmt: skip
SCR_REQUIRED = SCR_FIELDS - {"sdr_allocation_id"}
SDR_FIELDS = frozenset(
    {
        "charging_energy_source", "discharge_energy", "discharging_end_datetime", "discharging_start_datetime",
        "efficiency_factor_interval_end", "efficiency_factor_interval_start", "efficiency_factor_methodology", "id",
        "scr_allocation_id", "scr_allocation_methodology", "sdr_allocation_id",
    }
)  # fmt: skip
SDR_REQUIRED = SDR_FIELDS - {"efficiency_factor_interval_end", "efficiency_factor_interval_start"}
# the lists of SCRQueryResponse / SDRQueryResponse and GranularCertificateQueryResponse
STORAGE_QUERY_FIELDS = frozenset({"filtered_scrs", "filtered_sdrs", "filtered_certificate_bundles"})
