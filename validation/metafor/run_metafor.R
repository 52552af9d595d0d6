# Pin metafor's escalc + rma results for adpharm's tests.
# Run: Rscript validation/metafor/run_metafor.R   (from the repository root; see regenerate.sh)
# Writes tests/data/metafor_inputs_*.csv and tests/data/metafor_reference.json (%.17g numbers).
# Iterative estimators are run with tight control settings so that the comparison at 1e-6 tests
# the estimator, not metafor's default stopping rule (threshold 1e-5, uniroot tol eps^0.25).
# confint() gets tau2.max = 1e7 because its default search interval, max(100, 10 * tau2), truncates
# the Q-profile upper bound of very heterogeneous data (normand_MD, DL: metafor reports the cap
# 2054.09 = 10 * tau2; the root of Q(tau2) = chi2(0.025, k-1) is 2889.45, which adpharm returns).
suppressPackageStartupMessages({ library(metafor); library(metadat) })
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000, stepadj = 0.5)

inputs <- list(
  bcg_RR = list(measure = "RR", data = with(dat.bcg, data.frame(study = paste(author, year), ai = tpos, bi = tneg, ci = cpos, di = cneg))),
  normand_SMD = list(measure = "SMD", data = with(dat.normand1999, data.frame(study = source, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i))),
  normand_MD = list(measure = "MD", data = with(dat.normand1999, data.frame(study = source, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i))),
  linde_tca_placebo_OR = local({
    d <- dat.linde2015
    rows <- list()
    for (i in seq_len(nrow(d))) {
      tr <- c(d$treatment1[i], d$treatment2[i], d$treatment3[i]); n <- c(d$n1[i], d$n2[i], d$n3[i]); r <- c(d$resp1[i], d$resp2[i], d$resp3[i])
      a <- which(tr == "TCA"); p <- which(tr == "Placebo")
      if (length(a) == 1 && length(p) == 1 && !is.na(r[a]) && !is.na(r[p]))
        rows[[length(rows) + 1]] <- data.frame(study = paste(d$author[i], d$year[i]), ai = r[a], n1i = n[a], ci = r[p], n2i = n[p])
    }
    list(measure = "OR", data = do.call(rbind, rows))
  }),
  bcg_RD = list(measure = "RD", data = with(dat.bcg, data.frame(study = paste(author, year), ai = tpos, bi = tneg, ci = cpos, di = cneg)))
)

num <- function(x) if (is.null(x) || length(x) == 0 || is.na(x)) "null" else sprintf("%.17g", x)
out <- c()
for (name in names(inputs)) {
  inp <- inputs[[name]]; d <- inp$data
  write.csv(d, file.path("tests", "data", paste0("metafor_inputs_", name, ".csv")), row.names = FALSE)
  es <- if (inp$measure %in% c("SMD", "MD")) escalc(inp$measure, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = d)
        else if ("bi" %in% names(d)) escalc(inp$measure, ai = ai, bi = bi, ci = ci, di = di, data = d)
        else escalc(inp$measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d)
  fits <- c()
  for (method in c("FE", "DL", "HE", "SJ", "ML", "REML", "PM")) for (test in c("z", "knha")) {
    res <- rma(yi, vi, data = es, method = method, test = test, control = ctrl)
    ci <- if (method == "FE") NULL else confint(res, control = list(tol = 1e-12, tau2.max = 1e7))$random
    pr <- predict(res)
    fits <- c(fits, sprintf('"%s_%s": {"beta": %s, "se": %s, "zval": %s, "pval": %s, "ci_lb": %s, "ci_ub": %s, "tau2": %s, "I2": %s, "H2": %s, "Q": %s, "QEp": %s, "k": %d, "pi_lb": %s, "pi_ub": %s, "tau2_ci_lb": %s, "tau2_ci_ub": %s}',
      method, test, num(res$beta[1]), num(res$se), num(res$zval), num(res$pval), num(res$ci.lb), num(res$ci.ub), num(res$tau2),
      num(res$I2), num(res$H2), num(res$QE), num(res$QEp), res$k, num(if (is.null(pr$pi.lb)) pr$ci.lb else pr$pi.lb),
      num(if (is.null(pr$pi.ub)) pr$ci.ub else pr$pi.ub),
      num(if (is.null(ci)) NA else ci["tau^2", "ci.lb"]), num(if (is.null(ci)) NA else ci["tau^2", "ci.ub"])))
  }
  out <- c(out, sprintf('"%s": {"measure": "%s", "yi": [%s], "vi": [%s], "fits": {%s}}', name, inp$measure,
    paste(sapply(es$yi, num), collapse = ", "), paste(sapply(es$vi, num), collapse = ", "), paste(fits, collapse = ", ")))
}
meta <- sprintf('"_provenance": {"R": "%s", "metafor": "%s", "metadat": "%s", "script": "validation/metafor/run_metafor.R"}',
  R.version.string, packageVersion("metafor"), packageVersion("metadat"))
writeLines(paste0("{", meta, ", ", paste(out, collapse = ", "), "}"), file.path("tests", "data", "metafor_reference.json"))
