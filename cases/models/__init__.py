from cases.models.applications import (
    Application,
    CountySample,
    CountyVisit,
    DemocraticAppraisal,
    Investigation,
    Objection,
    PublicNotice,
    StatusTransition,
)
from cases.models.households import Household, HouseholdAsset, HouseholdMember, MemberIncome
from cases.models.management import ChangeReport, HomeVisit, SelfCareAssessment, TemporaryAssistance
from cases.models.payments import BenefitPeriod, PaymentLine, PaymentSheet
from cases.models.policy import ClassifiedUplift, GuaranteeStandard, PolicySetting, PovertyLine

__all__ = [
    "Application",
    "BenefitPeriod",
    "ChangeReport",
    "ClassifiedUplift",
    "CountySample",
    "CountyVisit",
    "DemocraticAppraisal",
    "GuaranteeStandard",
    "HomeVisit",
    "Household",
    "HouseholdAsset",
    "HouseholdMember",
    "Investigation",
    "MemberIncome",
    "Objection",
    "PaymentLine",
    "PaymentSheet",
    "PolicySetting",
    "PovertyLine",
    "PublicNotice",
    "SelfCareAssessment",
    "StatusTransition",
    "TemporaryAssistance",
]
