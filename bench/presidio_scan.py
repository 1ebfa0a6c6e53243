"""Microsoft Presidio's pattern recognizers over one text file, for
`lanyard bench scan --presidio`: prints the seconds taken and the count of
results per entity as JSON.

Presidio's default NLP engine wants a downloaded spaCy model; its pattern
recognizers (the ones compared: UK_NINO, UK_NHS, EMAIL_ADDRESS,
PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, UK_POSTCODE, UK_VEHICLE_REGISTRATION)
need only a tokenizer, so a blank
English pipeline is used. Each line is analysed as one text, as a scanner
of a CSV or log would. Results under Presidio's default score threshold
(0) count, so its recall is not understated.
"""

import json
import sys
import time

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import SpacyNlpEngine

from presidio_analyzer.predefined_recognizers import (
    UkNinoRecognizer,
    UkPostcodeRecognizer,
    UkVehicleRegistrationRecognizer,
)

ENTITIES = [
    "UK_NINO",
    "UK_NHS",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "UK_POSTCODE",
    "UK_VEHICLE_REGISTRATION",
]


class BlankEnglish(SpacyNlpEngine):
    """A tokenizer-only spaCy pipeline: no model download."""

    def load(self):
        self.nlp = {"en": spacy.blank("en")}


def main(path):
    nlp = BlankEnglish(models=[{"lang_code": "en", "model_name": "blank:en"}])
    nlp.load()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp, languages=["en"])
    # The UK recognizers are not loaded by default; the comparison needs them.
    for recognizer in (UkNinoRecognizer(), UkPostcodeRecognizer(), UkVehicleRegistrationRecognizer()):
        registry.add_recognizer(recognizer)
    engine = AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])
    counts = {e: 0 for e in ENTITIES}
    # Warm up outside the timing: the email recognizer's suffix list loads once.
    engine.analyze(text="warm up a@example.org", language="en", entities=ENTITIES)
    started = time.perf_counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            for r in engine.analyze(text=line, language="en", entities=ENTITIES):
                counts[r.entity_type] = counts.get(r.entity_type, 0) + 1
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "counts": counts}))


if __name__ == "__main__":
    main(sys.argv[1])
