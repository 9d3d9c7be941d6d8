//! The whole authorization policy as one table.
//!
//! Every principal kind × every [`Action`] × a representative set of
//! resources is decided by [`authorize`], rendered as fixed-width text and
//! compared with the table written out below. A change to the policy shows
//! up as a diff of named cells, which a reviewer (and the privacy officer)
//! can read cell by cell; update `EXPECTED` only after such a review.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use doorstroom_domain::{
    Action, Brin, CertFingerprint, Decision, Principal, Resource, Role, Sector, StaffId, authorize,
};

const OWN: &str = "25LX";
const OTHER: &str = "31AB";
const VO: &str = "20VO";
const VO2: &str = "21VO";

/// The policy as reviewed. Row: principal and action; column: resource.
/// `@own` means bound to institution 25LX (an mbo), `@vo` to 20VO (a vo
/// school), `@broker` broker staff (no institution); `+2fa` / `-2fa` whether
/// the login included the second factor.
///
/// Institutions in the columns: `own` 25LX and `other` 31AB are mbo's, `vo`
/// 20VO and `vo2` 21VO vo schools. `app:R<-S` is an application at mbo R
/// from vo school S (`unknown`: the mbo did not name the vo school);
/// `pkg:S->R` a package from S to R.
///
/// `broker_admin@own+2fa(invalid)` is an account that cannot exist (a broker
/// admin bound to an institution); it must be refused everything.
const EXPECTED: &str = "\
principal                      action                broker                  inst:own                inst:other              inst:vo                 staff:own/intaker       staff:other/intaker     staff:own/privacy_officer  staff:own/broker_admin  staff:broker/broker_admin  app:own<-vo             app:own<-unknown        app:other<-vo           pkg:vo->own             pkg:vo->other           pkg:vo2->own
system@own                     whoami                allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     list_institutions     allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     read_institution      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     register_institution  role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     update_institution    resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     read_credentials      resource_mismatch       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     manage_keys           resource_mismatch       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     manage_certificates   resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     list_staff            role_not_permitted      role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     read_audit_log        role_not_permitted      role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          allow                   allow                   other_institution       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          allow                   allow                   other_institution       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          allow                   allow                   other_institution       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       other_institution       other_institution       other_institution
system@own                     list_inbox            resource_mismatch       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system@own                     pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       allow                   other_institution       allow
system@own                     acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       allow                   other_institution       allow
system-vo@vo                   whoami                allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   list_institutions     allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   read_institution      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   register_institution  role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   update_institution    resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   read_credentials      resource_mismatch       other_institution       other_institution       allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   manage_keys           resource_mismatch       other_institution       other_institution       allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   manage_certificates   resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   list_staff            role_not_permitted      role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   read_audit_log        role_not_permitted      role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          other_institution       other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          allow                   other_institution       allow                   resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          other_institution       other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       allow                   allow                   other_institution
system-vo@vo                   list_inbox            resource_mismatch       other_institution       other_institution       wrong_sector            resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
system-vo@vo                   pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       other_institution       other_institution       other_institution
system-vo@vo                   acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       other_institution       other_institution       other_institution
broker_admin@own+2fa(invalid)  whoami                invalid_account         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  list_institutions     invalid_account         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  read_institution      resource_mismatch       invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  register_institution  invalid_account         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  update_institution    resource_mismatch       invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  read_credentials      resource_mismatch       invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  manage_keys           resource_mismatch       invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  manage_certificates   resource_mismatch       invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  list_staff            invalid_account         invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       invalid_account         invalid_account         invalid_account            resource_mismatch       invalid_account            resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       invalid_account         invalid_account         invalid_account            resource_mismatch       invalid_account            resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  read_audit_log        invalid_account         invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       invalid_account         invalid_account         invalid_account
broker_admin@own+2fa(invalid)  list_inbox            resource_mismatch       invalid_account         invalid_account         invalid_account         resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@own+2fa(invalid)  pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       invalid_account         invalid_account         invalid_account
broker_admin@own+2fa(invalid)  acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       invalid_account         invalid_account         invalid_account
institution_admin@own+2fa      whoami                allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      list_institutions     allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      read_institution      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      register_institution  role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      update_institution    resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      read_credentials      resource_mismatch       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      manage_keys           resource_mismatch       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      manage_certificates   resource_mismatch       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      list_staff            broker_scope_only       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       allow                   other_institution       broker_scope_only          resource_mismatch       broker_scope_only          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       allow                   other_institution       broker_scope_only          resource_mismatch       broker_scope_only          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      read_audit_log        role_not_permitted      role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
institution_admin@own+2fa      list_inbox            resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
institution_admin@own+2fa      pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
institution_admin@own+2fa      acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
intaker@own+2fa                whoami                allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                list_institutions     allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                read_institution      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                register_institution  role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                update_institution    resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                read_credentials      resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                manage_keys           resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                manage_certificates   resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                list_staff            role_not_permitted      role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                read_audit_log        role_not_permitted      role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          allow                   allow                   other_institution       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          allow                   allow                   other_institution       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
intaker@own+2fa                list_inbox            resource_mismatch       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own+2fa                pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       allow                   other_institution       allow
intaker@own+2fa                acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       allow                   other_institution       allow
privacy_officer@own+2fa        whoami                allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        list_institutions     allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        read_institution      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        register_institution  role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        update_institution    resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        read_credentials      resource_mismatch       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        manage_keys           resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        manage_certificates   resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        list_staff            broker_scope_only       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        read_audit_log        broker_scope_only       allow                   other_institution       other_institution       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
privacy_officer@own+2fa        list_inbox            resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own+2fa        pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
privacy_officer@own+2fa        acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
intaker@own-2fa                whoami                second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                list_institutions     second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                read_institution      resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                register_institution  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                update_institution    resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                read_credentials      resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                manage_keys           resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                manage_certificates   resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                list_staff            second_factor_required  second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required     resource_mismatch       second_factor_required     resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required     resource_mismatch       second_factor_required     resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                read_audit_log        second_factor_required  second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required
intaker@own-2fa                list_inbox            resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
intaker@own-2fa                pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required
intaker@own-2fa                acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required
privacy_officer@own-2fa        whoami                second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        list_institutions     second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        read_institution      resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        register_institution  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        update_institution    resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        read_credentials      resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        manage_keys           resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        manage_certificates   resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        list_staff            second_factor_required  second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required     resource_mismatch       second_factor_required     resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required     resource_mismatch       second_factor_required     resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        read_audit_log        second_factor_required  second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required
privacy_officer@own-2fa        list_inbox            resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@own-2fa        pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required
privacy_officer@own-2fa        acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required
broker_admin@broker-2fa        whoami                second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        list_institutions     second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        read_institution      resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        register_institution  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        update_institution    resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        read_credentials      resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        manage_keys           resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        manage_certificates   resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        list_staff            second_factor_required  second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required     resource_mismatch       second_factor_required     resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required     resource_mismatch       second_factor_required     resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        read_audit_log        second_factor_required  second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required
broker_admin@broker-2fa        list_inbox            resource_mismatch       second_factor_required  second_factor_required  second_factor_required  resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker-2fa        pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required
broker_admin@broker-2fa        acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       second_factor_required  second_factor_required  second_factor_required
broker_admin@broker+2fa        whoami                allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        list_institutions     allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        read_institution      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        register_institution  allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        update_institution    resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        read_credentials      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        manage_keys           resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        manage_certificates   resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        list_staff            allow                   allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       allow                   allow                   allow                      resource_mismatch       allow                      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       allow                   allow                   allow                      resource_mismatch       allow                      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        read_audit_log        role_not_permitted      role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
broker_admin@broker+2fa        list_inbox            resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
broker_admin@broker+2fa        pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
broker_admin@broker+2fa        acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
privacy_officer@broker+2fa     whoami                allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     list_institutions     allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     read_institution      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     register_institution  role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     update_institution    resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     read_credentials      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     manage_keys           resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     manage_certificates   resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     list_staff            allow                   allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted         resource_mismatch       role_not_permitted         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     read_audit_log        allow                   allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
privacy_officer@broker+2fa     list_inbox            resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted      resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
privacy_officer@broker+2fa     pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
privacy_officer@broker+2fa     acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       role_not_permitted      role_not_permitted      role_not_permitted
operator                       whoami                allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       list_institutions     allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       read_institution      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       register_institution  allow                   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       update_institution    resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       read_credentials      resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       manage_keys           resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       manage_certificates   resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       list_staff            allow                   allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       create_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       allow                   allow                   allow                      resource_mismatch       allow                      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       manage_staff          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       allow                   allow                   allow                      resource_mismatch       allow                      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       read_audit_log        allow                   allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       register_application  resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch
operator                       read_application      resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch
operator                       report_status         resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch
operator                       submit_package        resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       allow                   allow                   allow
operator                       list_inbox            resource_mismatch       allow                   allow                   allow                   resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch
operator                       pull_package          resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       allow                   allow                   allow
operator                       acknowledge_package   resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch          resource_mismatch       resource_mismatch       resource_mismatch       allow                   allow                   allow
anonymous                      whoami                unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      list_institutions     unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      read_institution      unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      register_institution  unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      update_institution    unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      read_credentials      unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      manage_keys           unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      manage_certificates   unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      list_staff            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      create_staff          unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      manage_staff          unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      read_audit_log        unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      register_application  unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      read_application      unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      report_status         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      submit_package        unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      list_inbox            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      pull_package          unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
anonymous                      acknowledge_package   unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated            unauthenticated         unauthenticated            unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated         unauthenticated
";

/// Rows of the matrix: every kind of principal there is.
fn principals() -> Result<Vec<(&'static str, Principal)>, String> {
    let own = brin(OWN)?;
    let fingerprint = CertFingerprint::from_digest([0x42; 32]);
    let staff = |role: Role, institution: Option<Brin>, second_factor: bool| Principal::Staff {
        id: StaffId(uuid::Uuid::nil()),
        role,
        institution,
        second_factor,
    };
    Ok(vec![
        (
            "system@own",
            Principal::System {
                institution: own.clone(),
                sector: Sector::Mbo,
                fingerprint,
            },
        ),
        (
            "system-vo@vo",
            Principal::System {
                institution: brin(VO)?,
                sector: Sector::Vo,
                fingerprint: CertFingerprint::from_digest([0x43; 32]),
            },
        ),
        (
            "broker_admin@own+2fa(invalid)",
            staff(Role::BrokerAdmin, Some(own.clone()), true),
        ),
        (
            "institution_admin@own+2fa",
            staff(Role::InstitutionAdmin, Some(own.clone()), true),
        ),
        ("intaker@own+2fa", staff(Role::Intaker, Some(own.clone()), true)),
        (
            "privacy_officer@own+2fa",
            staff(Role::PrivacyOfficer, Some(own.clone()), true),
        ),
        ("intaker@own-2fa", staff(Role::Intaker, Some(own.clone()), false)),
        ("privacy_officer@own-2fa", staff(Role::PrivacyOfficer, Some(own), false)),
        ("broker_admin@broker-2fa", staff(Role::BrokerAdmin, None, false)),
        ("broker_admin@broker+2fa", staff(Role::BrokerAdmin, None, true)),
        ("privacy_officer@broker+2fa", staff(Role::PrivacyOfficer, None, true)),
        ("operator", Principal::Operator),
        ("anonymous", Principal::Anonymous),
    ])
}

/// Columns of the matrix: the broker, an institution and staff accounts, each
/// once inside and once outside the caller's own institution.
fn resources() -> Result<Vec<(&'static str, Resource)>, String> {
    let own = brin(OWN)?;
    let other = brin(OTHER)?;
    let vo = brin(VO)?;
    let vo2 = brin(VO2)?;
    Ok(vec![
        ("broker", Resource::Broker),
        ("inst:own", Resource::Institution(own.clone())),
        ("inst:other", Resource::Institution(other.clone())),
        ("inst:vo", Resource::Institution(vo.clone())),
        (
            "staff:own/intaker",
            Resource::StaffAccount {
                institution: Some(own.clone()),
                role: Role::Intaker,
            },
        ),
        (
            "staff:other/intaker",
            Resource::StaffAccount {
                institution: Some(other.clone()),
                role: Role::Intaker,
            },
        ),
        (
            "staff:own/privacy_officer",
            Resource::StaffAccount {
                institution: Some(own.clone()),
                role: Role::PrivacyOfficer,
            },
        ),
        (
            "staff:own/broker_admin",
            Resource::StaffAccount {
                institution: Some(own.clone()),
                role: Role::BrokerAdmin,
            },
        ),
        (
            "staff:broker/broker_admin",
            Resource::StaffAccount {
                institution: None,
                role: Role::BrokerAdmin,
            },
        ),
        (
            "app:own<-vo",
            Resource::Application {
                receiving: own.clone(),
                sending: Some(vo.clone()),
            },
        ),
        (
            "app:own<-unknown",
            Resource::Application {
                receiving: own.clone(),
                sending: None,
            },
        ),
        (
            "app:other<-vo",
            Resource::Application {
                receiving: other.clone(),
                sending: Some(vo.clone()),
            },
        ),
        (
            "pkg:vo->own",
            Resource::Package {
                sender: vo.clone(),
                recipient: own.clone(),
            },
        ),
        (
            "pkg:vo->other",
            Resource::Package {
                sender: vo,
                recipient: other,
            },
        ),
        (
            "pkg:vo2->own",
            Resource::Package {
                sender: vo2,
                recipient: own,
            },
        ),
    ])
}

fn brin(raw: &str) -> Result<Brin, String> {
    Brin::parse(raw).map_err(|e| format!("test BRIN {raw}: {e}"))
}

fn cell(decision: Decision) -> &'static str {
    match decision {
        Decision::Allow => "allow",
        Decision::Deny(reason) => reason.as_str(),
    }
}

/// One decided cell: (principal, action, resource) -> cell text.
type Cells = BTreeMap<(String, String, String), String>;

/// Decides every cell and renders the table.
fn render() -> Result<(String, Cells), String> {
    let principals = principals()?;
    let resources = resources()?;

    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["principal".to_owned(), "action".to_owned()];
    header.extend(resources.iter().map(|(name, _)| (*name).to_owned()));
    rows.push(header);

    let mut cells = Cells::new();
    for (p_name, principal) in &principals {
        for action in Action::ALL {
            let mut row = vec![(*p_name).to_owned(), action.as_str().to_owned()];
            for (r_name, resource) in &resources {
                let text = cell(authorize(principal, *action, resource));
                cells.insert(
                    ((*p_name).to_owned(), action.as_str().to_owned(), (*r_name).to_owned()),
                    text.to_owned(),
                );
                row.push(text.to_owned());
            }
            rows.push(row);
        }
    }

    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(String::len).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (text, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{text:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    Ok((out, cells))
}

/// Reads a rendered table back into cells (no cell contains whitespace).
fn parse(table: &str) -> Result<Cells, String> {
    let mut lines = table.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().ok_or("empty table")?.split_whitespace().collect();
    let resources = header.get(2..).ok_or("header has no resource columns")?;
    let mut cells = Cells::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != header.len() {
            return Err(format!(
                "row has {} fields, header {}: {line}",
                fields.len(),
                header.len()
            ));
        }
        for (resource, text) in resources.iter().zip(&fields[2..]) {
            let key = (fields[0].to_owned(), fields[1].to_owned(), (*resource).to_owned());
            if cells.insert(key, (*text).to_owned()).is_some() {
                return Err(format!("duplicate row: {line}"));
            }
        }
    }
    Ok(cells)
}

fn normalise(table: &str) -> String {
    table
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A test failure whose `Debug` (what the test harness prints for an `Err`)
/// is the plain text, so that the tables are shown as tables, not escaped.
struct Failure(String);

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Failure {
    fn from(text: String) -> Self {
        Self(text)
    }
}

#[test]
fn authorization_matrix_matches_reviewed_table() -> Result<(), Failure> {
    let (actual_table, actual) = render()?;
    if normalise(&actual_table) == normalise(EXPECTED) {
        return Ok(());
    }

    let diff = match parse(EXPECTED) {
        Err(e) => format!("  the expected table cannot be read: {e}\n"),
        Ok(expected) => {
            let keys: BTreeSet<_> = actual.keys().chain(expected.keys()).collect();
            let mut diff = String::new();
            for key @ (principal, action, resource) in keys {
                let want = expected.get(key).map_or("<missing>", String::as_str);
                let got = actual.get(key).map_or("<missing>", String::as_str);
                if want != got {
                    let _ = writeln!(diff, "  {principal} {action} on {resource}: expected {want}, got {got}");
                }
            }
            if diff.is_empty() {
                diff.push_str("  (no cell differs; only the layout or the row order does)\n");
            }
            diff
        }
    };
    Err(Failure(format!(
        "authorization matrix differs from the reviewed table\n\n\
         --- expected ---\n{EXPECTED}\n--- actual ---\n{actual_table}\n--- differing cells ---\n{diff}"
    )))
}

#[test]
fn every_action_has_a_distinct_name() {
    let names: BTreeSet<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(
        names.len(),
        Action::ALL.len(),
        "duplicate Action::as_str among {names:?}"
    );
    for name in &names {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "action name {name:?} is not snake_case"
        );
    }
}
