-- 0005 belongs to the maintenance windows (branch maint, 0005_maintenance.sql). This empty
-- placeholder only keeps the numbers without a gap on the backjobs branch until that lands;
-- DELETE IT when merging main that has 0005_maintenance.sql.
SELECT 1;
