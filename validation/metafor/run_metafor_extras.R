# Pin metafor's meta-regression, subgroup, leave1out, cumul, regtest and network (rma.mv) results.
# Run: Rscript validation/metafor/run_metafor_extras.R   (from the repository root; see regenerate.sh)
# Writes tests/data/metafor_extras.json (17 significant digits).
suppressPackageStartupMessages({ library(metafor); library(metadat); library(jsonlite) })
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000, stepadj = 0.5)
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$study <- paste(bcg$author, bcg$year)
write.csv(data.frame(study = bcg$study, ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg,
                     ablat = bcg$ablat, year = bcg$year, alloc = bcg$alloc),
          file.path("tests", "data", "metafor_inputs_bcg_moderators.csv"), row.names = FALSE)
out <- list(`_provenance` = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                                 metadat = as.character(packageVersion("metadat")),
                                 script = "validation/metafor/run_metafor_extras.R"))

# meta-regression: rma(yi, vi, mods = ~ ablat + year) and ~ alloc, every estimator and test
coefs <- function(res) list(estimate = unname(res$beta[, 1]), se = unname(res$se), stat = unname(res$zval),
                            pval = unname(res$pval), ci_lb = unname(res$ci.lb), ci_ub = unname(res$ci.ub))
for (f in c("ablat_year", "alloc")) {
  fm <- if (f == "ablat_year") ~ ablat + year else ~ alloc
  for (method in c("FE", "DL", "HE", "SJ", "ML", "REML", "PM")) for (test in c("z", "knha")) {
    res <- rma(yi, vi, mods = fm, data = bcg, method = method, test = test, control = ctrl)
    out[[paste("metareg", f, method, test, sep = "_")]] <- c(coefs(res), list(
      tau2 = res$tau2, QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp, I2 = res$I2, H2 = res$H2,
      R2 = if (is.null(res$R2)) NA else res$R2))
  }
}

# subgroups by allocation: separate rma per subgroup, then the Q-between test from their estimates
for (method in c("DL", "REML")) {
  fits <- lapply(split(bcg, bcg$alloc), function(d) rma(yi, vi, data = d, method = method, control = ctrl))
  between <- rma(sapply(fits, function(r) r$beta[1]), sei = sapply(fits, function(r) r$se), method = "FE")
  out[[paste0("subgroup_alloc_", method)]] <- list(
    groups = names(fits), beta = unname(sapply(fits, function(r) r$beta[1])), se = unname(sapply(fits, function(r) r$se)),
    tau2 = unname(sapply(fits, function(r) r$tau2)), Qb = between$QE, Qbp = between$QEp)
}

res <- rma(yi, vi, data = bcg, method = "REML", control = ctrl)
l1 <- leave1out(res)
out$leave1out_REML <- list(estimate = l1$estimate, se = l1$se, ci_lb = l1$ci.lb, ci_ub = l1$ci.ub, Q = l1$Q, Qp = l1$Qp,
                           tau2 = l1$tau2, I2 = l1$I2)
cu <- cumul(res, order = bcg$year)
out$cumul_REML_year <- list(study = cu$slab, estimate = cu$estimate, se = cu$se, ci_lb = cu$ci.lb, ci_ub = cu$ci.ub,
                            tau2 = cu$tau2, I2 = cu$I2)
for (m in c("rma", "lm")) {
  rt <- regtest(res, model = m)
  out[[paste0("regtest_", m)]] <- list(stat = rt$zval, pval = rt$pval, df = if (is.null(rt$dfs)) NA else rt$dfs,
                                       limit = rt$est, limit_ci_lb = rt$ci.lb, limit_ci_ub = rt$ci.ub)
}

# network meta-analysis of dat.linde2015 (response), contrast-based, as a multivariate model:
# per study, log odds ratios of each arm against the study baseline (Placebo if present, else the
# first arm with responders), with the baseline arm's variance shared between a study's contrasts.
d <- dat.linde2015
rows <- list(); Vs <- list()
for (i in seq_len(nrow(d))) {
  tr <- c(d$treatment1[i], d$treatment2[i], d$treatment3[i]); n <- c(d$n1[i], d$n2[i], d$n3[i]); x <- c(d$resp1[i], d$resp2[i], d$resp3[i])
  keep <- !is.na(tr) & tr != "" & !is.na(x) & !is.na(n)
  tr <- tr[keep]; n <- n[keep]; x <- x[keep]
  if (length(tr) < 2) next
  if (any(x == 0 | x == n)) { x <- x + 0.5; n <- n + 1 }
  lo <- log(x / (n - x)); v <- 1 / x + 1 / (n - x)
  b <- if ("Placebo" %in% tr) which(tr == "Placebo") else 1
  o <- setdiff(seq_along(tr), b)
  rows[[length(rows) + 1]] <- data.frame(study = d$id[i], treat1 = tr[o], treat2 = tr[b], yi = lo[o] - lo[b])
  V <- matrix(v[b], length(o), length(o)); diag(V) <- v[o] + v[b]; Vs[[length(Vs) + 1]] <- V
}
net <- do.call(rbind, rows)
V <- bldiag(Vs)
trts <- sort(setdiff(unique(c(net$treat1, net$treat2)), "Placebo"))
X <- sapply(trts, function(t) (net$treat1 == t) - (net$treat2 == t))
net$comp <- paste(net$treat1, net$treat2, sep = "-")
fe <- rma.mv(net$yi, V, mods = X, intercept = FALSE, method = "FE")
re <- rma.mv(net$yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = net, method = "REML",
             control = list(optimizer = "nlminb", rel.tol = 1e-12, iter.max = 10000, eval.max = 10000))
out$network_linde <- list(treatments = trts, n_contrasts = nrow(net), n_studies = length(unique(net$study)),
  FE = list(beta = unname(fe$beta[, 1]), se = unname(fe$se), QE = fe$QE, QEp = fe$QEp),
  REML = list(beta = unname(re$beta[, 1]), se = unname(re$se), tau2 = re$tau2, QE = re$QE))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           file.path("tests", "data", "metafor_extras.json"))
