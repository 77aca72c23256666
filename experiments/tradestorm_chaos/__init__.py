"""tradestorm_chaos"""
