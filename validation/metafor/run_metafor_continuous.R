# Pin metafor's results for continuous outcomes in metafor's column names (issue 20).
# Run from the repository root: Rscript validation/metafor/run_metafor_continuous.R
# Inputs (written by hand from knowledge/data/continuous.yaml; see the test for how each row was made):
#   tests/data/metafor_inputs_continuous_arms.csv  (study, m1i, sd1i, n1i, m2i, sd2i, n2i)
#   tests/data/metafor_inputs_continuous_yi.csv    (study, yi, sei)
# Output: tests/data/metafor_continuous_reference.json (%.17g numbers)
suppressPackageStartupMessages(library(metafor))
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000, stepadj = 0.5)
num <- function(x) if (is.null(x) || length(x) == 0 || is.na(x)) "null" else sprintf("%.17g", x)
vec <- function(x) paste0("[", paste(sapply(x, num), collapse = ", "), "]")
fit <- function(res) sprintf('{"beta": %s, "se": %s, "ci_lb": %s, "ci_ub": %s, "tau2": %s, "I2": %s, "Q": %s}',
                             num(res$beta[1]), num(res$se), num(res$ci.lb), num(res$ci.ub), num(res$tau2),
                             num(res$I2), num(res$QE))
arms <- read.csv(file.path("tests", "data", "metafor_inputs_continuous_arms.csv"))
yi <- read.csv(file.path("tests", "data", "metafor_inputs_continuous_yi.csv"))
out <- c()
for (m in c("MD", "SMD")) {
  es <- escalc(m, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = arms)
  fits <- sapply(c("DL", "REML"), function(meth) sprintf('"%s": %s', meth, fit(rma(yi, vi, data = es, method = meth, control = ctrl))))
  out <- c(out, sprintf('"arms_%s": {"yi": %s, "vi": %s, %s}', m, vec(es$yi), vec(es$vi), paste(fits, collapse = ", ")))
}
fits <- sapply(c("DL", "REML", "FE"), function(meth) sprintf('"%s": %s', meth, fit(rma(yi = yi, sei = sei, data = yi, method = meth, control = ctrl))))
out <- c(out, sprintf('"yi_sei": {%s}', paste(fits, collapse = ", ")))
prov <- sprintf('"_provenance": {"R": "%s", "metafor": "%s", "script": "validation/metafor/run_metafor_continuous.R"}',
                R.version.string, as.character(packageVersion("metafor")))
writeLines(paste0("{", paste(c(prov, out), collapse = ", "), "}"), file.path("tests", "data", "metafor_continuous_reference.json"))
