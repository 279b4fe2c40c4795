# DO NOT EDIT: generated from qualitas.ttl by `python -m qualitas.ontology._vocabgen`.
"""The Qualitas ontology terms as an rdflib ``DefinedNamespace`` (typos fail)."""

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace


class Q(DefinedNamespace):
    """Terms of https://w3id.org/qualitas/ontology#."""

    _fail = True
    _NS = Namespace("https://w3id.org/qualitas/ontology#")

    # classes
    BOMLine: URIRef
    BillOfMaterials: URIRef
    CAPA: URIRef
    CalibrationCertificate: URIRef
    Complaint: URIRef
    CompositionEntry: URIRef
    Document: URIRef
    Equipment: URIRef
    Exemption: URIRef
    FailureMode: URIRef
    InspectionResult: URIRef
    Lot: URIRef
    Market: URIRef
    Material: URIRef
    ParameterObservation: URIRef
    ParameterSet: URIRef
    ParameterSpecification: URIRef
    Part: URIRef
    ProcessParameter: URIRef
    ProcessStep: URIRef
    Product: URIRef
    ProductCategory: URIRef
    ProductFeature: URIRef
    ProductionRun: URIRef
    Regulation: URIRef
    Requirement: URIRef
    Routing: URIRef
    SerialUnit: URIRef
    Substance: URIRef
    Supplier: URIRef
    SupplierDeclaration: URIRef
    TestReport: URIRef

    # object properties
    about: URIRef
    addresses: URIRef
    certificateFor: URIRef
    claimsExemption: URIRef
    component: URIRef
    concernsUnit: URIRef
    consumed: URIRef
    containsSubstance: URIRef
    declarationFor: URIRef
    declaredBy: URIRef
    declaresMaterial: URIRef
    designedMaterial: URIRef
    equipment: URIRef
    failureMode: URIRef
    forStep: URIRef
    hasBOM: URIRef
    hasCalibration: URIRef
    hasCategory: URIRef
    hasCompositionEntry: URIRef
    hasFeature: URIRef
    hasLine: URIRef
    hasObservation: URIRef
    hasRequirement: URIRef
    hasResult: URIRef
    hasSpecification: URIRef
    hasStep: URIRef
    inspects: URIRef
    market: URIRef
    material: URIRef
    ofPart: URIRef
    ofProduct: URIRef
    packedIn: URIRef
    parameter: URIRef
    produced: URIRef
    reportFor: URIRef
    reportedMaterial: URIRef
    routingFor: URIRef
    step: URIRef
    substance: URIRef
    suppliedBy: URIRef
    unit: URIRef
    usedParameterSet: URIRef
    variantOf: URIRef

    # datatype properties
    aboveThreshold: URIRef
    calibrationResult: URIRef
    casNumber: URIRef
    channel: URIRef
    characteristic: URIRef
    clause: URIRef
    code: URIRef
    complaintId: URIRef
    composition: URIRef
    country: URIRef
    declarationClass: URIRef
    designator: URIRef
    digitalLink: URIRef
    documentNumber: URIRef
    ecNumber: URIRef
    effectiveFrom: URIRef
    effectiveUntil: URIRef
    endedAt: URIRef
    epc: URIRef
    equipmentId: URIRef
    grade: URIRef
    gtin: URIRef
    identifier: URIRef
    instrumentType: URIRef
    issuer: URIRef
    lotNumber: URIRef
    marking: URIRef
    massFraction: URIRef
    modelNumber: URIRef
    name: URIRef
    nominal: URIRef
    partNumber: URIRef
    position: URIRef
    quantity: URIRef
    receivedOn: URIRef
    revision: URIRef
    runId: URIRef
    serialNumber: URIRef
    startedAt: URIRef
    substanceCategory: URIRef
    supplierId: URIRef
    text: URIRef
    tolerance: URIRef
    udiDi: URIRef
    validFrom: URIRef
    validUntil: URIRef
    value: URIRef
    verdict: URIRef
    version: URIRef
    vin: URIRef
