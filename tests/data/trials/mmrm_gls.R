# nlme::gls MMRM used as the reference implementation by tests/trials/test_trial_mmrm.py:
#   Rscript mmrm_gls.R DATA.csv REFERENCE_ARM [COVARIATE]   -> arm,visit,estimate,se per contrast and the REML logLik
# COVARIATE (optional): a categorical subject-level column (the randomisation stratum) added as a main effect.
# Visits are taken in order of first appearance, the first being the baseline visit (left out).
suppressMessages(library(nlme))
args <- commandArgs(TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
ref <- args[2]
d$change <- d$value - d$baseline
vis <- unique(d$visit)
d <- d[d$visit != vis[1], ]
vis <- vis[-1]
d$visit <- factor(d$visit, levels = vis)
d$arm <- relevel(factor(d$arm), ref = ref)
d$k <- as.integer(d$visit)
d <- d[order(d$subject, d$k), ]
form <- change ~ baseline + visit * arm
if (length(args) >= 3) {
  d[[args[3]]] <- factor(d[[args[3]]])
  form <- as.formula(paste("change ~ baseline + visit * arm +", args[3]))
}
fit <- gls(form, data = d, correlation = corSymm(form = ~ k | subject),
           weights = varIdent(form = ~ 1 | visit), method = "REML", control = glsControl(msMaxIter = 1000, msTol = 1e-12, tolerance = 1e-10))
b <- coef(fit); V <- vcov(fit)
arms <- setdiff(levels(d$arm), ref)
for (a in arms) for (v in vis) {
  c <- setNames(rep(0, length(b)), names(b))
  c[paste0("arm", a)] <- 1
  if (v != vis[1]) c[paste0("visit", v, ":arm", a)] <- 1
  cat(sprintf("%s,%s,%.10f,%.10f\n", a, v, sum(c * b), sqrt(drop(t(c) %*% V %*% c))))
}
cat(sprintf("loglik,%.8f\n", logLik(fit)))
