"""Courses of care: plan a person's series of visits, book it whole, follow it.

- `plan`: a course's plan checked, its visits proposed on real availability (the engine, as
  every booking) with the nearest alternatives, and booked in one transaction, all or none.
- `progress`: what a course looks like now ("3 of 8 done"), for staff and the patient; a
  course completes when the desk marks its last planned session completed.
- `reports`: courses started, completed and where patients stop, per therapist and month.
- `next_visit`: the next session after a visit (same therapist, weekday and time one cadence
  step on, or the nearest), for one-tap rebooking and the drop-off list.

Each session is an ordinary appointment (`Appointment.course_id`) booked by
`booking.services.booking.write_booking`, so every booking rule holds for it.
"""
