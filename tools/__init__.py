"""Project tools that are not tests: translators' tooling lives in tools.i18n."""
