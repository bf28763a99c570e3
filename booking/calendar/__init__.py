"""Calendar data for appointments: iCalendar files and add-to-calendar links."""
