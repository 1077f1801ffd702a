"""HL7 FHIR R4 server: a CapabilityStatement, Specimen, Patient and Location read and search.

Served at /fhir and at /api/v1/fhir. Specimens come from the samples (reports/fhir.py
maps one sample), Patients are the donors as pseudonyms only, Locations are the
storage containers. Errors are OperationOutcomes.
"""
